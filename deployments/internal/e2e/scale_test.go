package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/deployments/internal/e2e"
	"github.com/courierhook/pipeline/platform/testkit"
)

// TestIntegrationChaos_ScaleOut is the short form of the scale-out faults of
// `make chaos`: at 50 webhooks/s, the normalizer goes 1 → 2 → 1 (a second
// member joins the group, takes partitions, leaves on SIGTERM), then two
// gateways behind one round-robin front, one of them SIGKILLed and restarted.
// Every acknowledged webhook must reach the raw topic, every owed canonical
// event must appear exactly once (no lost, no duplicate copy on the topic) and
// reach the sink; the front must have routed to both gateways (some requests
// failed while one was down) and the normalizer's pause must have been measured.
func TestIntegrationChaos_ScaleOut(t *testing.T) {
	kafka := testkit.Kafka(t)
	redis := testkit.Redis(t)
	root, bin := buildServices(t)

	out := &lockedBuilder{}
	cfg := e2e.ChaosConfig{
		Root: root, BinDir: bin, WorkDir: t.TempDir(),
		Brokers: kafka.Brokers, RedisAddr: redis.Addr, RedisPrefix: redis.Prefix,
		Faults: []string{e2e.FaultNormalizerScale, e2e.FaultGatewayPair}, Rate: 50, Out: out,
		NormalizerMax: 2,
	}
	cfg.Defaults(true)
	cfg.Pre, cfg.Post, cfg.ScaleHold = 2*time.Second, 2*time.Second, 5*time.Second
	start := time.Now()
	audits, err := e2e.RunChaos(t.Context(), cfg)
	t.Logf("chaos output (%s):\n%s", time.Since(start).Round(time.Second), out.String())
	require.NoError(t, err)
	require.Len(t, audits, 2)
	for _, a := range audits {
		assert.Positive(t, a.Acked, "%s: the load was acknowledged", a.Name)
		assert.Positive(t, a.ExpectedEvents, "%s: canonical events were owed", a.Name)
		assert.Zero(t, a.LostRaw, "%s: acknowledged webhooks missing from the raw topic", a.Name)
		assert.Zero(t, a.LostCanonical, "%s: owed canonical events missing", a.Name)
		assert.Zero(t, a.DupCanonical, "%s: extra copies of a canonical event", a.Name)
		assert.Zero(t, a.SinkLost, "%s: canonical events never delivered", a.Name)
		assert.GreaterOrEqual(t, a.Recovery, time.Duration(0), "%s: never caught up", a.Name)
	}
	assert.Contains(t, audits[0].PauseSteps, "1→2", "the scale-up step was measured")
	assert.Contains(t, audits[0].PauseSteps, "2→1", "the scale-down step was measured")
	notes := strings.Join(audits[0].Notes, "\n")
	assert.Contains(t, notes, "normalizer 1→2: group stable", "the second member joined")
	assert.Contains(t, notes, "per member [3 3]", "the 6 raw partitions were split over the two members")
	assert.Contains(t, notes, "per member [6]", "the first member took every partition back")
	assert.Positive(t, audits[1].NotAcked, "requests routed to the killed gateway were refused, so the front used both")
	assert.Contains(t, out.String(), "TOTAL LOST: 0")
}
