package app_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/courierhook/pipeline/dispatcher/internal/app"
	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

func httpSink(name, url, extra string) string {
	return fmt.Sprintf("  %s:\n    kind: http\n    url: %s\n    secrets: [%s]\n%s", name, url, testSecret, extra)
}

// A receiver that fails the first attempts of every event still ends with each
// event exactly once, signature verified, after the retry tiers.
func TestIntegrationFlakyReceiverGetsEachEventOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	rc := newReceiver(t)
	rc.failFirst = 2 // attempt 1 (in-line) and 2 (tier 1) fail, tier 2 succeeds
	e.routes(t, "sinks:\n"+httpSink("hook", rc.srv.URL, "    timeout: 2s\n    breaker: {failures: 1000}\n")+
		"routes:\n  - {match: {always: true}, to: [hook]}\n")
	stop := e.start(t)
	const n = 30
	var evs []shipment.Event
	for i := range n {
		evs = append(evs, makeEvent(t.Name(), i, shipment.StatusInTransit))
	}
	produce(t, e.k, e.canonical, evs...)
	require.Eventually(t, func() bool { return rc.unique() == n }, 60*time.Second, 50*time.Millisecond)
	require.NoError(t, stop())
	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.Zero(t, rc.badSig, "every request verified with the Standard Webhooks routine")
	for id, c := range rc.accepted {
		assert.Equal(t, 1, c, "id %s accepted once", id)
		assert.Equal(t, 3, rc.attempts[id], "id %s: two failures, then success", id)
	}
}

// A receiver down for good ends in the DLQ; replay delivers once it is back,
// once per idempotency id even when the DLQ holds a delivery twice.
func TestIntegrationDeadLetterThenReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	rc := newReceiver(t)
	rc.setDown(true)
	e.routes(t, "sinks:\n"+httpSink("hook", rc.srv.URL, "    breaker: {failures: 3, open_for: 100ms}\n")+
		"  audit: {kind: kafka, topic: "+e.k.Topic(t)+"}\n"+
		"routes:\n  - {match: {status: exception}, to: [hook]}\n  - {match: {always: true}, to: [audit]}\n")
	stop := e.start(t)
	var evs []shipment.Event
	for i := range 5 {
		evs = append(evs, makeEvent(t.Name(), i, shipment.StatusException))
	}
	evs = append(evs, evs[0]) // the same event twice (a redelivered canonical record)
	produce(t, e.k, e.canonical, evs...)
	dlq := e.k.ReadAll(t, e.dlq, 6, 60*time.Second)
	require.Len(t, dlq, 6)
	for _, m := range dlq {
		assert.Equal(t, retry.ReasonExhausted, string(broker.Header(m, schemas.HeaderDLQReason)))
		assert.Equal(t, "hook", string(broker.Header(m, retry.HeaderSink)))
		assert.Equal(t, "2", string(broker.Header(m, retry.HeaderTier)), "dead-lettered after the last tier")
		assert.NotEmpty(t, broker.Header(m, retry.HeaderLastError))
		assert.NotContains(t, string(broker.Header(m, retry.HeaderLastError)), "Siti")
	}
	require.NoError(t, stop())
	assert.Zero(t, rc.unique())

	rc.setDown(false)
	a, err := app.New(e.cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })

	res, err := a.Replay(t.Context(), app.ReplayOptions{Sink: "audit"})
	require.NoError(t, err)
	assert.Zero(t, res.Total, "no audit deliveries were dead-lettered")
	res, err = a.Replay(t.Context(), app.ReplayOptions{Until: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	assert.Zero(t, res.Total, "time range excludes everything")

	var progress bytes.Buffer
	res, err = a.Replay(t.Context(), app.ReplayOptions{Sink: "hook", Since: time.Now().Add(-time.Hour), Progress: &progress})
	require.NoError(t, err)
	assert.Equal(t, app.ReplayResult{Total: 5, OK: 5, Duplicates: 1}, res)
	assert.Contains(t, progress.String(), "replay 5/5 ok=5 failed=0")
	assert.Equal(t, 5, rc.unique())
	assert.Zero(t, rc.duplicates())
	assert.Zero(t, rc.badSig)
}

// While one sink hangs, another sink on the same partition receives every event.
func TestIntegrationHangingSinkDoesNotBlockOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.cfg.ShutdownTimeout = 2 * time.Second
	slow, fast := newReceiver(t), newReceiver(t)
	slow.hang = make(chan struct{})
	e.routes(t, "sinks:\n"+
		httpSink("slow", slow.srv.URL, "    timeout: 1h\n    concurrency: 1\n    queue: 1\n")+
		httpSink("fast", fast.srv.URL, "")+
		"routes:\n  - {match: {always: true}, to: [slow, fast]}\n")
	e.start(t)
	const n = 200
	var evs []shipment.Event
	for i := range n {
		evs = append(evs, makeEvent(t.Name(), i, shipment.StatusPickedUp))
	}
	produce(t, e.k, e.canonical, evs...)
	require.Eventually(t, func() bool { return fast.unique() == n }, 30*time.Second, 20*time.Millisecond)
	// The slow sink is still stuck in its first attempt: it has accepted nothing,
	// and what did not fit its one lane went to the first retry topic instead.
	assert.Zero(t, slow.unique())
	retried := e.k.ReadAll(t, e.prefix+"100ms", n-2, 30*time.Second)
	assert.GreaterOrEqual(t, len(retried), n-2)
	for _, m := range retried {
		assert.Equal(t, "slow", string(broker.Header(m, retry.HeaderSink)))
	}
}
