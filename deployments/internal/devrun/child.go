package devrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// child is one service process, started in its own process group so a signal
// reaches it and anything it spawned, and so the terminal's Ctrl-C reaches devrun
// only: devrun decides the stop order.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been waited for
	err  error         // Wait's result, valid after done
}

// startChild starts bin with env, its stdout and stderr going to out line by line.
func startChild(name, bin, dir string, env []string, out io.Writer) (*child, error) {
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	// A grandchild holding the pipe must not keep Wait blocked forever.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// PID is the child's process id, which is also its process group id.
func (c *child) PID() int { return c.cmd.Process.Pid }

// stop sends SIGTERM to the child's process group, waits up to timeout for the
// child to exit, then SIGKILLs the group. kill, when closed, skips the wait (a
// second Ctrl-C). The group is always killed at the end, so a grandchild that
// ignored SIGTERM does not survive its parent.
func (c *child) stop(timeout time.Duration, kill <-chan struct{}, log *zap.Logger) {
	pgid := c.PID()
	select {
	case <-c.done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			log.Warn("child did not stop in time, killing it", zap.String("service", c.name), zap.Duration("timeout", timeout))
		case <-kill:
			log.Warn("killing child", zap.String("service", c.name))
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-c.done
	if c.err != nil && !isSignalExit(c.err) {
		log.Warn("child exited with an error", zap.String("service", c.name), zap.Error(c.err))
	}
}

// isSignalExit reports an exit caused by our own SIGTERM/SIGKILL.
func isSignalExit(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

// prefixWriter writes each complete line it receives to out as "<prefix> | line".
// Partial lines wait for their newline (or Flush), so lines from different
// services never interleave mid-line.
type prefixWriter struct {
	prefix string
	out    *lockedWriter
	mu     sync.Mutex
	buf    []byte
}

// lockedWriter serialises whole-line writes from every prefixWriter.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newPrefixWriter(name string, width int, out *lockedWriter) *prefixWriter {
	return &prefixWriter{prefix: fmt.Sprintf("%-*s | ", width, name), out: out}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := p.out.Write(append([]byte(p.prefix), p.buf[:i+1]...)); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// Sync writes a trailing partial line, if any (zap calls it; devrun calls it at exit).
func (p *prefixWriter) Sync() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) == 0 {
		return nil
	}
	_, err := p.out.Write(append(append([]byte(p.prefix), p.buf...), '\n'))
	p.buf = nil
	return err
}

// waitReady polls url until it answers 200 or ctx ends.
func waitReady(ctx context.Context, get func(ctx context.Context, url string) (int, error), url string) error {
	var last error
	for {
		code, err := get(ctx, url)
		if err == nil && code == 200 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("status %d", code)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last: %v)", url, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
