package devrun_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/deployments/internal/demo"
	"github.com/courierhook/pipeline/deployments/internal/devrun"
	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/deployments/internal/workspace"
	"github.com/courierhook/pipeline/platform/config"
)

// syncBuffer is a bytes.Buffer safe for the launcher's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func freePort(t *testing.T) int {
	_, p, err := net.SplitHostPort(freeAddr(t))
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

// buildServices compiles the three services from the current source into dir, so
// the test never runs stale binaries from bin/.
func buildServices(t *testing.T, root, dir string) {
	t.Helper()
	for _, svc := range devrun.Services {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, svc), "./cmd/"+svc)
		cmd.Dir = filepath.Join(root, svc)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "building %s:\n%s", svc, out)
	}
}

// TestIntegrationDevrun runs the launcher with embedded Kafka and Redis, posts the
// seed payloads through the gateway with the demo credentials, waits for canonical
// events, then cancels and checks that no child process (or process group) is left.
func TestIntegrationDevrun(t *testing.T) {
	root, err := workspace.Root("")
	require.NoError(t, err)
	bin := t.TempDir()
	buildServices(t, root, bin)

	cfg, err := config.LoadFrom[devrun.Config](map[string]string{})
	require.NoError(t, err)
	cfg.BinDir = bin
	cfg.DataDir = t.TempDir()
	cfg.StateFile = filepath.Join(t.TempDir(), "devrun.json")
	cfg.KafkaPort, cfg.RedisPort, cfg.SinkPort = freePort(t), freePort(t), freePort(t)
	cfg.GatewayAddr = freeAddr(t)
	cfg.GatewayOpsAddr, cfg.NormalizerOpsAddr, cfg.DispatcherOpsAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	cfg.StopTimeout = 20 * time.Second
	require.Empty(t, cfg.KafkaBrokers, "embedded broker")
	require.Empty(t, cfg.RedisAddr, "embedded redis")

	out := &syncBuffer{}
	ready := make(chan devrun.State, 1)
	l := &devrun.Launcher{Cfg: cfg, Root: root, Out: out, OnReady: func(s devrun.State) { ready <- s }}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		if t.Failed() {
			t.Logf("launcher output:\n%s", out.String())
		}
	}()

	var st devrun.State
	select {
	case st = <-ready:
	case err := <-done:
		require.FailNow(t, "launcher stopped before ready", "%v", err)
	case <-time.After(cfg.ReadyTimeout):
		require.FailNow(t, "launcher not ready in time")
	}
	require.True(t, st.KafkaEmbedded)
	require.True(t, st.RedisEmbedded)
	require.Len(t, l.PIDs(), 3)
	saved, err := devrun.ReadState(cfg.StateFile)
	require.NoError(t, err, "state file for cmd/demo")
	assert.Equal(t, st.KafkaBrokers, saved.KafkaBrokers)

	payloads := seed.Payloads()
	var summary bytes.Buffer
	sum, err := demo.Run(t.Context(), demo.Options{
		GatewayURL: st.GatewayURL, Brokers: st.KafkaBrokers, Topic: st.CanonicalTopic,
		Payloads: payloads, Credentials: seed.Demo(), Timeout: 60 * time.Second, Idle: 5 * time.Second,
	}, &summary)
	t.Logf("demo output:\n%s", summary.String())
	require.NoError(t, err)
	assert.Equal(t, len(payloads), sum.Posted)
	assert.Equal(t, sum.Posted, sum.Accepted, "every seed payload authenticates with the demo credentials")
	assert.Positive(t, sum.FromThisRun, "canonical events arrived for this run's webhooks")

	pids := l.PIDs()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "a cancelled run stops cleanly")
	case <-time.After(3 * cfg.StopTimeout):
		require.FailNow(t, "launcher did not stop")
	}
	for _, pid := range pids {
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "process %d still exists", pid)
		assert.ErrorIs(t, syscall.Kill(-pid, 0), syscall.ESRCH, "process group %d still has members", pid)
	}
	_, err = os.Stat(cfg.StateFile)
	assert.True(t, errors.Is(err, os.ErrNotExist), "state file removed on stop")
	for _, addr := range []string{cfg.GatewayAddr, st.KafkaBrokers[0], st.RedisAddr} {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		assert.Error(t, err, "%s still accepts connections", addr)
	}
	assert.Contains(t, out.String(), "gateway    | ", "service output is prefixed")
	assert.Contains(t, out.String(), "ready in", "banner")
	assert.Contains(t, out.String(), "webhook receiver: delivery (signature ok)", "dispatcher's signed webhook reached devrun's receiver")
}
