package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Infra is a Kafka and Redis pair started by scripts/infra-up.sh in its own
// INFRA_DIR and ports, so chaos can stop and restart them without touching the
// shared 9092/6379 ones. The scripts are used unchanged: a stopped Kafka keeps
// its data directory (only infra-down removes it), and infra-up restarts only
// what is not running, with the same configuration and data.
type Infra struct {
	Root, Dir                      string
	KafkaPort, CtrlPort, RedisPort int
	// Out receives the scripts' output.
	Out io.Writer
}

// Brokers is the Kafka address.
func (i Infra) Brokers() []string { return []string{"127.0.0.1:" + strconv.Itoa(i.KafkaPort)} }

// RedisAddr is the Redis address.
func (i Infra) RedisAddr() string { return "127.0.0.1:" + strconv.Itoa(i.RedisPort) }

func (i Infra) script(ctx context.Context, name string, extra ...string) error {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(i.Root, "scripts", name))
	cmd.Env = append(os.Environ(), "INFRA_DIR="+i.Dir, "KAFKA_PORT="+strconv.Itoa(i.KafkaPort),
		"KAFKA_CONTROLLER_PORT="+strconv.Itoa(i.CtrlPort), "REDIS_PORT="+strconv.Itoa(i.RedisPort))
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stdout, cmd.Stderr = i.Out, i.Out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Up starts whatever of Kafka and Redis is not running and waits until both answer.
func (i Infra) Up(ctx context.Context) error { return i.script(ctx, "infra-up.sh") }

// Down stops both and deletes Kafka's data.
func (i Infra) Down(ctx context.Context) error { return i.script(ctx, "infra-down.sh") }

func (i Infra) pid(name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(i.Dir, name+".pid"))
	if err != nil {
		return 0, fmt.Errorf("reading %s pid: %w", name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// StopKafka sends SIGTERM to the Kafka process of INFRA_DIR/kafka.pid and waits
// up to 40 s for it to exit (then SIGKILL). Its data directory stays.
func (i Infra) StopKafka() error {
	pid, err := i.pid("kafka")
	if err != nil {
		return err
	}
	return stopPID(pid, 40*time.Second)
}

// StopRedis stops Redis after it saved its dataset (SHUTDOWN SAVE), so the
// dataset survives as it would on a production Redis with persistence. infra-up
// runs Redis with --save ” and a bare SIGTERM would also wipe the dedup marks and
// states: that is data loss, a different fault from the outage this one tests.
func (i Infra) StopRedis(ctx context.Context) error {
	pid, err := i.pid("redis")
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "redis-cli", "-p", strconv.Itoa(i.RedisPort), "SHUTDOWN", "SAVE").CombinedOutput()
	if err != nil && len(bytes.TrimSpace(out)) > 0 {
		// SHUTDOWN closes the connection; only an answer means it failed.
		return fmt.Errorf("redis SHUTDOWN SAVE: %s", bytes.TrimSpace(out))
	}
	return stopPID(pid, 20*time.Second)
}

// StartRedis restarts Redis through infra-up, i.e. with the same command line
// (redis-server rewrites its argv, so /proc/<pid>/cmdline cannot give it back);
// it loads the dump SHUTDOWN SAVE wrote into the same --dir.
func (i Infra) StartRedis(ctx context.Context) error { return i.Up(ctx) }

// StartKafka restarts Kafka through infra-up: same server.properties, same data.
func (i Infra) StartKafka(ctx context.Context) error { return i.Up(ctx) }

// stopPID sends SIGTERM to pid, waits up to timeout, then SIGKILLs it.
func stopPID(pid int, timeout time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signalling %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return nil
}
