package app

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
)

// scriptedReader returns its records in order, then blocks until ctx ends.
type scriptedReader struct {
	commitRecorder
	mu   sync.Mutex
	msgs []kafka.Message
}

func (r *scriptedReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	r.mu.Lock()
	if len(r.msgs) > 0 {
		m := r.msgs[0]
		r.msgs = r.msgs[1:]
		r.mu.Unlock()
		return m, nil
	}
	r.mu.Unlock()
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

// recordingSink accepts every delivery and remembers its id.
type recordingSink struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (s *recordingSink) Deliver(_ context.Context, d sink.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[d.ID] = true
	return nil
}

func (s *recordingSink) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
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
	r := &scriptedReader{msgs: []kafka.Message{
		tierRecord(0, 0, later), // waits an hour
		tierRecord(0, 1, due),   // due, but behind p0-0
		tierRecord(1, 0, due),
		tierRecord(1, 1, due),
		tierRecord(2, 0, due),
	}}
	s := &recordingSink{ids: map[string]bool{}}
	eng, w := newTestEngineWith(t, s, 2, 10)
	workCtx, stopWork := context.WithCancel(t.Context())
	defer stopWork()
	eng.start(workCtx)
	c := newConsumer("retry_1s", r, 0, nil, eng, Config{MaxInFlight: 100, CommitInterval: time.Second}, newMetrics(nil), zap.NewNop())

	ctx, stopFetch := context.WithCancel(t.Context())
	fetched := make(chan error, 1)
	go func() { fetched <- c.fetch(ctx, workCtx) }()

	require.Eventually(t, func() bool { return s.has("p1-0") && s.has("p1-1") && s.has("p2-0") }, 30*time.Second, time.Millisecond,
		"due records on other partitions are delivered while p0-0 waits")
	require.Eventually(t, func() bool { return c.tr.inflight() == 0 }, 30*time.Second, time.Millisecond)
	require.NoError(t, c.commit(t.Context()))
	require.Len(t, r.calls, 1)
	assert.Equal(t, map[int]int64{1: 1, 2: 0}, r.calls[0], "nothing of partition 0 is committed")

	stopFetch()
	require.NoError(t, <-fetched)
	assert.False(t, s.has("p0-0"), "p0-0 was not due")
	assert.False(t, s.has("p0-1"), "p0-1 never overtakes p0-0")
	assert.Empty(t, c.slots, "records dropped at shutdown released their slots")
	assert.Zero(t, c.tr.inflight())
	require.NoError(t, c.commit(t.Context()))
	assert.Len(t, r.calls, 1, "no commit for the dropped records")
	assert.Empty(t, w.written(), "nothing handed off")
}
