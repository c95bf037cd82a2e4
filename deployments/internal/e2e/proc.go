package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one service binary run as a child process in its own process group
// (so a signal reaches it alone, never the driver), restartable. Its output is
// appended to LogPath. CPU time and peak RSS add up over restarts.
type Proc struct {
	Name, Bin, LogPath string
	Env                []string
	// ReadyURL is polled by WaitReady.
	ReadyURL string
	// URL is a gateway instance's webhook base URL ("http://127.0.0.1:port"),
	// empty for the other services.
	URL string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	pastCPU time.Duration // CPU of earlier incarnations
	pastHWM int64         // KiB, max VmHWM of earlier incarnations
	starts  int
}

// Start starts (or restarts) the process.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s log: %w", p.Name, err)
	}
	cmd := exec.Command(p.Bin)
	cmd.Env = p.Env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		p.mu.Lock()
		if st := cmd.ProcessState; st != nil {
			p.pastCPU += st.UserTime() + st.SystemTime()
			if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
				p.pastHWM = max(p.pastHWM, ru.Maxrss)
			}
		}
		p.mu.Unlock()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	p.starts++
	return nil
}

// Started reports whether Start ever succeeded.
func (p *Proc) Started() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// PID is the current process id (also its process group id).
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Running reports whether the current incarnation is alive.
func (p *Proc) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Stop signals the process group and waits up to timeout, then SIGKILLs it.
func (p *Proc) Stop(sig syscall.Signal, timeout time.Duration) {
	p.mu.Lock()
	pid, done := p.cmd.Process.Pid, p.done
	p.mu.Unlock()
	_ = syscall.Kill(-pid, sig)
	select {
	case <-done:
	case <-time.After(timeout):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL) // anything left in the group
}

// WaitReady polls ReadyURL until it answers 200.
func (p *Proc) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.ReadyURL, nil)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !p.Running() {
			return fmt.Errorf("%s exited before ready (log %s)", p.Name, p.LogPath)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (log %s)", p.Name, timeout, p.LogPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Usage is a process's CPU time and peak resident set size.
type Usage struct {
	CPU     time.Duration
	PeakRSS int64 // KiB
}

// Usage returns CPU time over every incarnation so far (the live one read from
// /proc/<pid>/stat) and the highest VmHWM (/proc/<pid>/status).
func (p *Proc) Usage() Usage {
	p.mu.Lock()
	u := Usage{CPU: p.pastCPU, PeakRSS: p.pastHWM}
	pid, done := p.cmd.Process.Pid, p.done
	p.mu.Unlock()
	select {
	case <-done:
		return u
	default:
	}
	if cpu, err := procCPU(pid); err == nil {
		u.CPU += cpu
	}
	if hwm, err := procHWM(pid); err == nil {
		u.PeakRSS = max(u.PeakRSS, hwm)
	}
	return u
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPU reads utime+stime from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start after ") ".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procHWM reads VmHWM (KiB) from /proc/<pid>/status.
func procHWM(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, errors.New("no VmHWM")
}
