package publish_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/metrics"
	"github.com/courierhook/pipeline/gateway/internal/publish"
	"github.com/courierhook/pipeline/gateway/internal/spool"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas"
)

// runForwarder starts d's forwarder and stops it when the test ends.
func runForwarder(t *testing.T, d *publish.Durable) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.RunForwarder(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func spoolRecord(id, key, body string) spool.Record {
	return spool.Record{Key: []byte(key), Value: []byte(body), Headers: []spool.Header{
		{Key: schemas.HeaderRequestID, Value: []byte(id)},
		{Key: schemas.HeaderProvider, Value: []byte("dash")},
	}}
}

// A spooled record the broker refuses for good (here MESSAGE_TOO_LARGE: the
// topic's max.message.bytes is below the body, which is under the gateway's
// body limit) must not block the spool: it goes to the quarantine, whole, and
// the records behind it reach the topic in order.
func TestIntegrationForwarder_QuarantinesRefusedRecordAndMovesOn(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := testkit.UniqueName(t, "topic")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	require.NoError(t, broker.EnsureTopics(ctx, k.Brokers,
		broker.TopicSpec{Name: topic, Partitions: 1, Config: map[string]string{"max.message.bytes": "2048"}}))

	sp, err := spool.Open(t.TempDir(), spool.Options{}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sp.Close() })
	big := strings.Repeat("x", 8<<10)
	var want []string
	for i := range 10 {
		id, body := fmt.Sprintf("r%d", i), fmt.Sprintf(`{"seq":%d}`, i)
		if i == 3 {
			body = big
		} else {
			want = append(want, id)
		}
		require.NoError(t, sp.Append(ctx, spoolRecord(id, fmt.Sprintf("k%d", i%2), body)))
	}

	p := broker.NewProducer(k.Config(), topic, broker.ProducerOptions{})
	t.Cleanup(func() { _ = p.Close() })
	m := metrics.New(prometheus.NewRegistry())
	d := publish.NewDurable(p, sp, publish.Options{}, m, nil)
	require.True(t, d.Spooling())
	runForwarder(t, d)

	msgs := k.ReadAll(t, topic, len(want), 30*time.Second)
	got := make([]string, 0, len(msgs))
	for _, msg := range msgs {
		for _, h := range msg.Headers {
			if h.Key == schemas.HeaderRequestID {
				got = append(got, string(h.Value))
			}
		}
	}
	require.Equal(t, want, got, "the records behind the refused one, in order")
	require.Eventually(t, func() bool { return sp.Len() == 0 && !d.Spooling() }, 10*time.Second, 20*time.Millisecond)

	assert.Equal(t, int64(1), sp.Stats().Quarantined)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Quarantined))
	recs, err := filepath.Glob(filepath.Join(sp.QuarantineDir(), "*"+spool.QuarantineSuffix))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	rec, err := spool.ReadQuarantined(recs[0])
	require.NoError(t, err)
	assert.Equal(t, big, string(rec.Value))
	assert.Equal(t, "k1", string(rec.Key))
	assert.Contains(t, rec.Headers, spool.Header{Key: schemas.HeaderRequestID, Value: []byte("r3")})
	reason, err := os.ReadFile(strings.TrimSuffix(recs[0], spool.QuarantineSuffix) + spool.QuarantineReasonSuffix)
	require.NoError(t, err)
	assert.Contains(t, string(reason), kafka.MessageSizeTooLarge.Error())

	// A reopened spool still reports the quarantined record.
	require.NoError(t, sp.Close())
	sp2, err := spool.Open(filepath.Dir(sp.QuarantineDir()), spool.Options{}, nil)
	require.NoError(t, err)
	defer sp2.Close()
	assert.Equal(t, int64(1), sp2.Stats().Quarantined)
}

// hangTransport is a one-broker fake whose produce requests hang until the
// producer's per-request timeout while hang is set, and are acked afterwards.
// It records every produce request's values.
type hangTransport struct {
	topic string

	mu       sync.Mutex
	hang     bool
	requests [][]string
	acked    []string
}

func (f *hangTransport) RoundTrip(ctx context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	switch r := req.(type) {
	case *metadataAPI.Request:
		return fakeMetadata(f.topic), nil
	case *produceAPI.Request:
		var values []string
		res := &produceAPI.Response{}
		for _, t := range r.Topics {
			rt := produceAPI.ResponseTopic{Topic: t.Topic}
			for _, p := range t.Partitions {
				vs, err := recordValues(p.RecordSet)
				if err != nil {
					return nil, err
				}
				values = append(values, vs...)
				rt.Partitions = append(rt.Partitions, produceAPI.ResponsePartition{Partition: p.Partition})
			}
			res.Topics = append(res.Topics, rt)
		}
		f.mu.Lock()
		f.requests = append(f.requests, values)
		hang := f.hang
		f.mu.Unlock()
		if hang {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		f.mu.Lock()
		f.acked = append(f.acked, values...)
		f.mu.Unlock()
		return res, nil
	}
	return nil, errors.New("unexpected request")
}

// During a broker hang the producer keeps a batch queued through all its
// attempts (MaxAttempts × WriteTimeout), longer than the forwarder waits for
// one write. The forwarder must not queue another copy meanwhile: no produce
// request may carry the same spooled record twice, and once the broker is back
// the record is acked once.
func TestForwarder_BrokerHangQueuesOneCopyAtATime(t *testing.T) {
	t.Parallel()
	ft := &hangTransport{topic: "t", hang: true}
	const timeout = 100 * time.Millisecond // the producer's and the forwarder's, equal as in production
	p := broker.NewProducer(broker.Config{Brokers: []string{"fake:9092"}}, "t",
		broker.ProducerOptions{Transport: ft, WriteTimeout: timeout, MaxAttempts: 3})
	t.Cleanup(func() { _ = p.Close() })
	sp, err := spool.Open(t.TempDir(), spool.Options{}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sp.Close() })
	require.NoError(t, sp.Append(t.Context(), spoolRecord("r1", "k", "a")))
	d := publish.NewDurable(p, sp, publish.Options{ForwardTimeout: timeout, AckTimeout: timeout},
		metrics.New(prometheus.NewRegistry()), nil)
	runForwarder(t, d)

	time.Sleep(2 * time.Second)
	ft.mu.Lock()
	ft.hang = false
	ft.mu.Unlock()
	require.Eventually(t, func() bool { return sp.Len() == 0 }, 10*time.Second, 10*time.Millisecond)

	ft.mu.Lock()
	defer ft.mu.Unlock()
	require.Greater(t, len(ft.requests), 3, "the hang lasted several attempts")
	for i, vals := range ft.requests {
		assert.Equal(t, []string{"a"}, vals, "produce request %d carries the record more than once", i)
	}
	assert.Equal(t, []string{"a"}, ft.acked)
}
