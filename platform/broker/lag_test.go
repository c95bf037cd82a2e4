package broker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
)

// fakeStats reports a lag the test sets.
type fakeStats struct{ lag atomic.Int64 }

func (f *fakeStats) Stats() kafka.ReaderStats { return kafka.ReaderStats{Lag: f.lag.Load()} }

func TestExportLag_FollowsReaderUntilCancelled(t *testing.T) {
	r := &fakeStats{}
	r.lag.Store(42)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_consumer_lag"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		broker.ExportLag(ctx, r, g, time.Millisecond)
		close(done)
	}()
	require.Eventually(t, func() bool { return testutil.ToFloat64(g) == 42 }, 10*time.Second, time.Millisecond)
	r.lag.Store(7)
	require.Eventually(t, func() bool { return testutil.ToFloat64(g) == 7 }, 10*time.Second, time.Millisecond)
	cancel()
	<-done
	r.lag.Store(1000)
	assert.Equal(t, float64(7), testutil.ToFloat64(g), "no update after ExportLag returned")
}

func TestIntegrationExportLag_RealReader(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 1)
	w := broker.NewWriter(k.Config(), topic, nil, broker.WriterOptions{MaxAttempts: 1})
	t.Cleanup(func() { _ = w.Close() })
	msgs := make([]kafka.Message, 5)
	for i := range msgs {
		msgs[i] = kafka.Message{Value: []byte{byte(i)}}
	}
	// A new topic's metadata reaches every broker a moment after creation: retry
	// the one batch until it lands (a refused batch wrote nothing).
	require.Eventually(t, func() bool { return w.WriteMessages(t.Context(), msgs...) == nil }, 30*time.Second, 50*time.Millisecond)
	// A one-record prefetch queue holds kafka-go's partition reader back: it reads
	// record i+1 only after the caller fetched record i, and sets the lag as it reads.
	r := broker.NewReader(k.Config(), k.Group(t), []string{topic}, nil, broker.ReaderOptions{QueueCapacity: 1})
	t.Cleanup(func() { _ = r.Close() })
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_consumer_lag"})
	g.Set(-1)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go broker.ExportLag(ctx, r, g, time.Millisecond)
	lagIs := func(want float64) func() bool { return func() bool { return testutil.ToFloat64(g) == want } }
	require.Eventually(t, lagIs(4), 30*time.Second, 5*time.Millisecond, "record 0 queued, 4 behind it")
	for range 2 {
		_, err := r.FetchMessage(t.Context())
		require.NoError(t, err)
	}
	require.Eventually(t, lagIs(2), 30*time.Second, 5*time.Millisecond, "record 2 queued")
	for range 3 {
		_, err := r.FetchMessage(t.Context())
		require.NoError(t, err)
	}
	require.Eventually(t, lagIs(0), 30*time.Second, 5*time.Millisecond, "every record read")
}
