package deployments_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withInfra starts scripts/with-infra.sh running command (a shell line) in its
// own session, with Kafka and Redis "configured" (so the script starts none:
// what is tested here is how it runs the command).
func withInfra(t *testing.T, command string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "with-infra.sh"), "bash", "-c", command)
	cmd.Env = append(os.Environ(), "KAFKA_BROKERS=127.0.0.1:1", "REDIS_ADDR=127.0.0.1:1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return cmd, &out
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if err == nil {
		return 0
	}
	require.ErrorAs(t, err, &ee)
	return ee.ExitCode()
}

// alive reports whether the process whose pid is in file still runs.
func alive(t *testing.T, file string) bool {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return syscall.Kill(pid, 0) == nil
}

// TestWithInfra_PassesTheExitCode: make test's wrapper exits with its command's
// code, failure included, and the command sees the configured addresses.
func TestWithInfra_PassesTheExitCode(t *testing.T) {
	cmd, out := withInfra(t, `echo "kafka=$KAFKA_BROKERS redis=$REDIS_ADDR"; exit 3`)
	assert.Equal(t, 3, exitCode(t, cmd.Wait()), out.String())
	assert.Contains(t, out.String(), "kafka=127.0.0.1:1 redis=127.0.0.1:1")

	cmd, out = withInfra(t, `true`)
	assert.Equal(t, 0, exitCode(t, cmd.Wait()), out.String())
}

// TestWithInfra_SignalStopsTheCommandAtOnce: a SIGTERM to the script alone (a CI
// runner cancelling) or a SIGINT to its process group (Ctrl-C) stops the
// command at once (then what the script started would be stopped), instead of
// waiting for the command to end on its own.
func TestWithInfra_SignalStopsTheCommandAtOnce(t *testing.T) {
	for name, tc := range map[string]struct {
		sig   syscall.Signal
		group bool
		want  int
	}{
		"SIGTERM to the script": {syscall.SIGTERM, false, 143},
		"Ctrl-C to the group":   {syscall.SIGINT, true, 130},
	} {
		t.Run(name, func(t *testing.T) {
			pidfile := filepath.Join(t.TempDir(), "pid")
			cmd, out := withInfra(t, `echo $$ > `+pidfile+`; exec sleep 60`)
			require.Eventually(t, func() bool { _, err := os.Stat(pidfile); return err == nil }, 10*time.Second, 20*time.Millisecond)
			pid := cmd.Process.Pid
			if tc.group {
				pid = -pid
			}
			require.NoError(t, syscall.Kill(pid, tc.sig))
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				assert.Equal(t, tc.want, exitCode(t, err), out.String())
			case <-time.After(20 * time.Second):
				t.Fatal("the script did not stop within 20 s of the signal (the command runs 60 s)")
			}
			require.Eventually(t, func() bool { return !alive(t, pidfile) }, 5*time.Second, 20*time.Millisecond,
				"the command was stopped")
		})
	}
}
