package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/deployments/internal/devrun"
	"github.com/courierhook/pipeline/deployments/internal/e2e"
	"github.com/courierhook/pipeline/deployments/internal/workspace"
	"github.com/courierhook/pipeline/platform/testkit"
)

// lockedBuilder collects the chaos output from concurrent goroutines.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// buildServices builds the three services from the current source into a
// temporary directory and returns the repository root and that directory.
func buildServices(t *testing.T) (root, bin string) {
	t.Helper()
	root, err := workspace.Root("")
	require.NoError(t, err)
	bin = t.TempDir()
	for _, svc := range devrun.Services {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, svc), "./cmd/"+svc)
		cmd.Dir = filepath.Join(root, svc)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "building %s:\n%s", svc, out)
	}
	return root, bin
}

// TestIntegrationChaos_NormalizerSIGKILL runs the chaos machinery end to end on a
// small scale so it cannot rot: the three services built from the current source,
// a light steady load, one SIGKILL of the normalizer, the drain and the audit.
// Nothing acknowledged may be lost; timings are printed, not asserted.
func TestIntegrationChaos_NormalizerSIGKILL(t *testing.T) {
	kafka := testkit.Kafka(t)
	redis := testkit.Redis(t)
	root, bin := buildServices(t)

	out := &lockedBuilder{}
	cfg := e2e.ChaosConfig{
		Root: root, BinDir: bin, WorkDir: t.TempDir(),
		Brokers: kafka.Brokers, RedisAddr: redis.Addr, RedisPrefix: redis.Prefix,
		Faults: []string{e2e.FaultNormalizerKill}, Rate: 50, Out: out,
	}
	cfg.Defaults(true)
	cfg.Pre, cfg.Post = 2*time.Second, 2*time.Second
	audits, err := e2e.RunChaos(t.Context(), cfg)
	t.Logf("chaos output:\n%s", out.String())
	require.NoError(t, err)
	require.Len(t, audits, 1)
	a := audits[0]
	assert.Positive(t, a.Acked, "the load was acknowledged")
	assert.Positive(t, a.ExpectedEvents, "canonical events were owed")
	assert.Zero(t, a.LostRaw, "acknowledged webhooks missing from the raw topic")
	assert.Zero(t, a.LostCanonical, "expected canonical events missing")
	assert.Zero(t, a.SinkLost, "canonical events never delivered to the sink")
	assert.Zero(t, a.Lost())
	assert.Contains(t, out.String(), "TOTAL LOST: 0")
}
