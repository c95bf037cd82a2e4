package deliver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/deliver"
	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// consumerConfig is the part of deliver.Config a Consumer uses.
var consumerConfig = deliver.Config{MaxInFlight: 100, CommitInterval: time.Second}

// runFetch runs c's fetch loop with the engine's work context until the
// returned stop is called; stop returns Fetch's result.
func runFetch(t *testing.T, c *deliver.Consumer, workCtx context.Context) (stop func() error) {
	ctx, cancel := context.WithCancel(t.Context())
	fetched := make(chan error, 1)
	go func() { fetched <- c.Fetch(ctx, workCtx) }()
	t.Cleanup(cancel)
	return func() error { cancel(); return <-fetched }
}

// tierRecord is a retry-tier record for sink "s" due at notBefore; its
// idempotency id names its partition and offset.
func tierRecord(p int, off int64, notBefore time.Time) kafka.Message {
	m := retry.Meta{Sink: "s", ID: fmt.Sprintf("p%d-%d", p, off), Attempt: 1, Tier: 0, NotBefore: notBefore}
	return kafka.Message{Topic: "retry.1s", Partition: p, Offset: off, Key: []byte("dash:A1"),
		Value: []byte(`{"id":"evt-1"}`), Headers: m.Headers()}
}

func TestTierConsumer_WaitingRecordHoldsBackOnlyItsPartition(t *testing.T) {
	later, due := time.Now().Add(time.Hour), time.Now().Add(-time.Second)
	r := &commitRecorder{msgs: []kafka.Message{
		tierRecord(0, 0, later), // waits an hour
		tierRecord(0, 1, due),   // due, but behind p0-0
		tierRecord(1, 0, due),
		tierRecord(1, 1, due),
		tierRecord(2, 0, due),
	}}
	s := &recordingSink{}
	te := newTestEngine(t, s, 2, 10)
	workCtx := te.start(t)
	c := deliver.NewConsumer("retry_1s", r, 0, nil, te.eng, consumerConfig, te.m, zap.NewNop())
	stop := runFetch(t, c, workCtx)

	require.Eventually(t, func() bool { return s.has("p1-0") && s.has("p1-1") && s.has("p2-0") }, 30*time.Second, time.Millisecond,
		"due records on other partitions are delivered while p0-0 waits")
	require.Eventually(t, func() bool {
		if c.Commit(t.Context()) != nil {
			return false
		}
		return assert.ObjectsAreEqual(map[int]int64{1: 1, 2: 0}, r.committed())
	}, 30*time.Second, time.Millisecond)
	assert.Equal(t, 2, c.InFlight(), "p0-0 and p0-1 still hold their slots")

	require.NoError(t, stop())
	assert.False(t, s.has("p0-0"), "p0-0 was not due")
	assert.False(t, s.has("p0-1"), "p0-1 never overtakes p0-0")
	assert.Zero(t, c.InFlight(), "records dropped at shutdown released their slots")
	calls := len(r.commits())
	require.NoError(t, c.Commit(t.Context()))
	assert.Len(t, r.commits(), calls, "no commit for the dropped records")
	assert.Equal(t, map[int]int64{1: 1, 2: 0}, r.committed(), "nothing of partition 0 is committed")
	assert.Empty(t, te.w.written(), "nothing handed off")
}

// canonicalRecord is a canonical-topic record at partition 0, offset off.
func canonicalRecord(t *testing.T, off int64, ev *shipment.Event) kafka.Message {
	m := kafka.Message{Topic: "canonical", Offset: off, Key: []byte("dash:S1"), Value: []byte("not json")}
	if ev != nil {
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		m.Value = b
	}
	return m
}

// A canonical record goes to every sink its routes name, or to none, or, when
// it is not an event, to the DLQ; each is then done, and a failed commit is sent
// again with the next one.
func TestCanonicalConsumer_RoutesOrDeadLettersEachRecord(t *testing.T) {
	f, err := route.Parse([]byte("sinks:\n  s: {kind: kafka, topic: down}\n"+
		"routes:\n  - {match: {status: in_transit}, to: [s]}\n"), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	s := &recordingSink{}
	tiers, err := retry.NewTiers("retry.", testDelays, 0)
	require.NoError(t, err)
	w := &recordingWriter{}
	m := deliver.NewMetrics(nil)
	eng := deliver.NewEngine(f.Sinks, map[string]deliver.Sink{"s": s}, retry.NewPublisher(w, tiers, "dlq"), m, nil)
	workCtx, stopWork := context.WithCancel(t.Context())
	defer stopWork()
	eng.Start(workCtx)

	inTransit := &shipment.Event{ID: "evt-routed", Data: shipment.Data{Status: shipment.StatusInTransit}}
	delivered := &shipment.Event{ID: "evt-unrouted", Data: shipment.Data{Status: shipment.StatusDelivered}}
	r := &commitRecorder{msgs: []kafka.Message{
		canonicalRecord(t, 0, inTransit),
		canonicalRecord(t, 1, delivered),
		canonicalRecord(t, 2, nil),                     // not JSON
		canonicalRecord(t, 3, &shipment.Event{ID: ""}), // no id
	}}
	c := deliver.NewConsumer("canonical", r, deliver.Canonical, route.NewTable(f), eng, consumerConfig, m, nil)
	stop := runFetch(t, c, workCtx)

	require.Eventually(t, func() bool { return c.InFlight() == 0 && len(w.written()) == 2 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, []string{sink.IdempotencyID("evt-routed", "s")}, s.delivered(), "only the routed event reached the sink")
	for i, dl := range w.written() {
		assert.Equal(t, "dlq", dl.Topic)
		assert.Equal(t, retry.ReasonInvalidEvent, string(broker.Header(dl, schemas.HeaderDLQReason)))
		assert.Equal(t, fmt.Sprintf("canonical/0/%d", i+2), string(broker.Header(dl, schemas.HeaderDLQSource)))
	}

	r.mu.Lock()
	r.failNow = true
	r.mu.Unlock()
	require.Error(t, c.Commit(t.Context()))
	require.NoError(t, c.Commit(t.Context()))
	assert.Equal(t, []map[int]int64{{0: 3}, {0: 3}}, r.commits(), "the failed commit is sent again")
	require.NoError(t, c.Commit(t.Context()))
	assert.Len(t, r.commits(), 2, "nothing new to commit")
	require.NoError(t, stop())
}

// A tier record that names no sink, or a sink the routes file no longer has, or
// carries no decodable event, is dead-lettered with its reason and then done.
func TestTierConsumer_DeadLettersWhatItCannotDeliver(t *testing.T) {
	gone := tierRecord(0, 0, time.Time{})
	gone.Headers = retry.Meta{Sink: "gone", ID: "x", Attempt: 1}.Headers()
	noMeta := kafka.Message{Topic: "retry.1s", Offset: 1, Value: []byte(`{"id":"evt-1"}`)}
	badEvent := tierRecord(0, 2, time.Time{})
	badEvent.Value = []byte("not json")
	r := &commitRecorder{msgs: []kafka.Message{gone, noMeta, badEvent, tierRecord(0, 3, time.Time{})}}
	s := &recordingSink{}
	te := newTestEngine(t, s, 1, 10)
	workCtx := te.start(t)
	c := deliver.NewConsumer("retry_1s", r, 0, nil, te.eng, consumerConfig, te.m, nil)
	stop := runFetch(t, c, workCtx)

	require.Eventually(t, func() bool { return c.InFlight() == 0 && s.has("p0-3") }, 10*time.Second, time.Millisecond)
	var reasons []string
	for _, m := range te.w.written() {
		assert.Equal(t, "dlq", m.Topic)
		reasons = append(reasons, string(broker.Header(m, schemas.HeaderDLQReason)))
	}
	assert.Equal(t, []string{retry.ReasonUnknownSink, retry.ReasonUnknownSink, retry.ReasonInvalidEvent}, reasons)
	require.NoError(t, c.Commit(t.Context()))
	assert.Equal(t, map[int]int64{0: 3}, r.committed())
	require.NoError(t, stop())
}
