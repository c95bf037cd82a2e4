package app

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
)

// recordingWriter stands in for the retry publisher's Kafka writer.
type recordingWriter struct {
	mu   sync.Mutex
	msgs []kafka.Message
}

func (w *recordingWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msgs...)
	return nil
}

func (w *recordingWriter) written() []kafka.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]kafka.Message(nil), w.msgs...)
}

// newTestEngine builds an engine with one sink "s" of the given lanes and queue
// size. Its lanes are not started, so queued jobs stay queued.
func newTestEngine(t *testing.T, lanes, queue int) (*engine, *recordingWriter) {
	t.Helper()
	return newTestEngineWith(t, nil, lanes, queue)
}

// newTestEngineWith is newTestEngine with s as the sink.
func newTestEngineWith(t *testing.T, s Sink, lanes, queue int) (*engine, *recordingWriter) {
	t.Helper()
	tiers, err := retry.NewTiers("retry.", []time.Duration{time.Second, time.Minute}, 0)
	require.NoError(t, err)
	w := &recordingWriter{}
	specs := map[string]route.SinkSpec{"s": {Name: "s", Timeout: time.Second, Concurrency: lanes, Queue: queue,
		Breaker: route.BreakerSpec{Failures: 5, OpenFor: time.Second, HalfOpenRequests: 1}}}
	return newEngine(specs, map[string]Sink{"s": s}, retry.NewPublisher(w, tiers, "dlq"), newMetrics(nil), zap.NewNop()), w
}

func TestEngine_LaneSelection(t *testing.T) {
	tests := map[string]struct {
		lanes int
		keys  []string
	}{
		"one lane takes every key":       {lanes: 1, keys: []string{"dash:A1", "komerce:B2", ""}},
		"four lanes":                     {lanes: 4, keys: []string{"dash:A1", "dash:A2", "komerce:B2", "sendstack:C3", ""}},
		"more lanes than keys":           {lanes: 64, keys: []string{"dash:A1", "kiriminaja:JX-1"}},
		"many keys spread over 16 lanes": {lanes: 16, keys: manyKeys(200)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, _ := newTestEngine(t, tc.lanes, 1)
			sl := e.sinks["s"]
			used := map[int]bool{}
			for _, k := range tc.keys {
				l := sl.lane([]byte(k))
				require.GreaterOrEqual(t, l, 0)
				require.Less(t, l, tc.lanes)
				for range 3 {
					assert.Equal(t, l, sl.lane([]byte(k)), "key %q moved lanes", k)
				}
				used[l] = true
			}
			if len(tc.keys) >= 10*tc.lanes {
				assert.Len(t, used, tc.lanes, "every lane gets keys")
			}
		})
	}
}

func TestEngine_SubmitQueuesOnTheKeysLane(t *testing.T) {
	e, w := newTestEngine(t, 4, 10)
	sl := e.sinks["s"]
	for i := range 5 {
		e.submit(t.Context(), "s", &job{d: sink.Delivery{Key: []byte("dash:A1"), ID: fmt.Sprint(i)}, tier: -1, done: func() {}})
	}
	want := sl.lane([]byte("dash:A1"))
	for i, ch := range sl.lanes {
		if i == want {
			require.Len(t, ch, 5)
			for j := range 5 {
				assert.Equal(t, fmt.Sprint(j), (<-ch).d.ID, "queued in submit order")
			}
		} else {
			assert.Empty(t, ch, "lane %d", i)
		}
	}
	assert.Empty(t, w.written(), "nothing handed off")
}

func TestEngine_FullLaneHandsOff(t *testing.T) {
	tests := map[string]struct {
		queue    int
		tier     int // tier the records came from
		submits  int
		wantTier int // tier the busy ones go to; -1 DLQ
	}{
		"canonical record, queue of one":     {queue: 1, tier: -1, submits: 3, wantTier: 0},
		"canonical record, queue of three":   {queue: 3, tier: -1, submits: 5, wantTier: 0},
		"first tier record goes to the next": {queue: 2, tier: 0, submits: 4, wantTier: 1},
		"last tier record goes to the DLQ":   {queue: 1, tier: 1, submits: 2, wantTier: -1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, w := newTestEngine(t, 1, tc.queue)
			var wg sync.WaitGroup
			var mu sync.Mutex
			handedOff := map[string]bool{}
			for i := range tc.submits {
				id := fmt.Sprint(i)
				wg.Add(1)
				queued := i < tc.queue
				e.submit(t.Context(), "s", &job{
					d: sink.Delivery{Key: []byte("dash:A1"), ID: id, Body: []byte(`{}`)}, tier: tc.tier,
					meta: retry.Meta{Attempt: max(tc.tier+1, 0)},
					done: func() {
						mu.Lock()
						handedOff[id] = true
						mu.Unlock()
						wg.Done()
					},
				})
				if queued {
					wg.Done() // stays in the lane; nobody runs it in this test
				}
			}
			wg.Wait() // submit returned for every job without blocking; hand-offs finished
			ch := e.sinks["s"].lanes[0]
			require.Len(t, ch, tc.queue, "the lane keeps what fit")
			for i := range tc.queue {
				assert.Equal(t, fmt.Sprint(i), (<-ch).d.ID)
			}
			msgs := w.written()
			require.Len(t, msgs, tc.submits-tc.queue)
			for _, m := range msgs {
				meta, err := retry.ParseMeta(m)
				require.NoError(t, err)
				assert.Equal(t, "s", meta.Sink)
				assert.Equal(t, max(tc.tier+1, 0), meta.Attempt, "a busy lane is not a failed attempt")
				assert.Contains(t, meta.LastError, errBusy.Error())
				if tc.wantTier < 0 {
					assert.Equal(t, "dlq", m.Topic)
				} else {
					assert.Equal(t, fmt.Sprintf("retry.%s", retry.Label([]time.Duration{time.Second, time.Minute}[tc.wantTier])), m.Topic)
				}
				mu.Lock()
				assert.True(t, handedOff[meta.ID], "done called for %s", meta.ID)
				mu.Unlock()
			}
			outcome := outcomeBusy
			if tc.wantTier < 0 {
				outcome = outcomeDeadLettered
			}
			assert.Equal(t, float64(tc.submits-tc.queue), testutil.ToFloat64(e.m.deliveries.WithLabelValues("s", outcome)))
		})
	}
}

func manyKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("dash:SHP%06d", i)
	}
	return out
}
