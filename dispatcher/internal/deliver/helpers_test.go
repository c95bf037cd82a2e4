package deliver_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/deliver"
	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
)

// testDelays are the retry tiers of every test engine: topics retry.1s, retry.1m.
var testDelays = []time.Duration{time.Second, time.Minute}

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

// recordingSink accepts every delivery and remembers the ids in arrival order.
// With delay set, each delivery takes that long.
type recordingSink struct {
	delay time.Duration
	mu    sync.Mutex
	ids   []string
}

func (s *recordingSink) Deliver(ctx context.Context, d sink.Delivery) error {
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, d.ID)
	return nil
}

func (s *recordingSink) delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

func (s *recordingSink) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.ids {
		if x == id {
			return true
		}
	}
	return false
}

// testEngine is an engine with one sink "s" and what the test observes of it.
type testEngine struct {
	eng *deliver.Engine
	w   *recordingWriter // retry tiers and DLQ
	reg *prometheus.Registry
	m   *deliver.Metrics
}

// newTestEngine builds an engine with one sink "s" (the given sink) of the given
// lanes and queue size. Its lanes are not started, so queued jobs stay queued
// until the test calls Start.
func newTestEngine(t *testing.T, s deliver.Sink, lanes, queue int) testEngine {
	t.Helper()
	tiers, err := retry.NewTiers("retry.", testDelays, 0)
	require.NoError(t, err)
	w := &recordingWriter{}
	reg := prometheus.NewRegistry()
	m := deliver.NewMetrics(reg)
	specs := map[string]route.SinkSpec{"s": {Name: "s", Timeout: time.Second, Concurrency: lanes, Queue: queue,
		Breaker: route.BreakerSpec{Failures: 5, OpenFor: time.Second, HalfOpenRequests: 1}}}
	eng := deliver.NewEngine(specs, map[string]deliver.Sink{"s": s}, retry.NewPublisher(w, tiers, "dlq"), m, zap.NewNop())
	return testEngine{eng: eng, w: w, reg: reg, m: m}
}

// start runs the engine's lanes until the test ends.
func (te testEngine) start(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	te.eng.Start(ctx)
	t.Cleanup(func() { cancel(); te.eng.Wait() })
	return ctx
}

// metric returns the value of the counter or gauge name with exactly labels,
// or 0 when that series does not exist.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// commitRecorder is a Reader that records what it is asked to commit and can
// fail the next commit. It returns its scripted records in order, then blocks
// until ctx ends.
type commitRecorder struct {
	mu      sync.Mutex
	msgs    []kafka.Message
	calls   []map[int]int64 // partition -> offset, one map per CommitMessages call
	failNow bool
}

func (r *commitRecorder) FetchMessage(ctx context.Context) (kafka.Message, error) {
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

func (r *commitRecorder) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := map[int]int64{}
	for _, m := range msgs {
		call[m.Partition] = m.Offset
	}
	r.calls = append(r.calls, call)
	if r.failNow {
		r.failNow = false
		return errors.New("coordinator not available")
	}
	return nil
}

func (r *commitRecorder) Close() error { return nil }

func (r *commitRecorder) commits() []map[int]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[int]int64(nil), r.calls...)
}

// committed merges every commit call: the highest offset sent per partition.
func (r *commitRecorder) committed() map[int]int64 {
	out := map[int]int64{}
	for _, c := range r.commits() {
		for p, o := range c {
			if cur, ok := out[p]; !ok || o > cur {
				out[p] = o
			}
		}
	}
	return out
}
