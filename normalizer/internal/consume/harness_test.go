package consume_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/consume"
	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// harness is one test's raw, canonical and DLQ topics, consumer group and Redis prefix.
type harness struct {
	k               *testkit.KafkaEnv
	r               *testkit.RedisEnv
	raw, canon, dlq string
	group           string
	metrics         *consume.Metrics
	writer          *kafka.Writer
}

func newHarness(t *testing.T, partitions int) *harness {
	t.Helper()
	k, r := testkit.Kafka(t), testkit.Redis(t)
	h := &harness{
		k: k, r: r,
		raw: k.Topic(t, partitions), canon: k.Topic(t, partitions), dlq: k.Topic(t, 1),
		group: k.Group(t), metrics: consume.NewMetrics(prometheus.NewRegistry()),
	}
	h.writer = broker.NewWriter(k.Config(), h.raw, nil, broker.WriterOptions{})
	t.Cleanup(func() { _ = h.writer.Close() })
	return h
}

// options tweak one consumer.
type options struct {
	rdb       redis.UniversalClient
	producer  func(consume.Producer) consume.Producer
	owner     string
	lease     time.Duration
	normalize consume.NormalizeFunc
	fetcher   func(consume.Fetcher) consume.Fetcher
	drain     time.Duration // DrainTimeout; default 10 s
	index     *lookup.Index // Deps.Index; default none
	retry     time.Duration // RetryMin = RetryMax; default 20..200 ms
}

// start runs a consumer until the test ends (or the returned stop is called);
// Run must return nil.
func (h *harness) start(t *testing.T, o options) (stop func()) {
	t.Helper()
	stopErr := h.run(t, o)
	stop = func() { require.NoError(t, stopErr()) }
	t.Cleanup(stop)
	return stop
}

// run runs a consumer until the test ends or stop is called; stop cancels its
// context and returns what Run returned.
func (h *harness) run(t *testing.T, o options) (stop func() error) {
	t.Helper()
	if o.rdb == nil {
		o.rdb = h.r.Client
	}
	if o.owner == "" {
		o.owner = testkit.UniqueName(t, "owner")
	}
	if o.lease == 0 {
		o.lease = 30 * time.Second
	}
	if o.drain == 0 {
		o.drain = 10 * time.Second
	}
	log := zaptest.NewLogger(t)
	reader := broker.NewReader(h.k.Config(), h.group, []string{h.raw}, nil, broker.ReaderOptions{})
	w := broker.NewWriter(h.k.Config(), "", nil, broker.WriterOptions{MaxAttempts: 1})
	var f consume.Fetcher = reader
	if o.fetcher != nil {
		f = o.fetcher(reader)
	}
	var p consume.Producer = w
	if o.producer != nil {
		p = o.producer(w)
	}
	scanner := inflight.NewScanner(h.k.Brokers, h.canon, schemas.HeaderEventID, nil)
	require.Eventually(t, func() bool { return scanner.Refresh(t.Context()) == nil }, 30*time.Second, 50*time.Millisecond,
		"canonical topic metadata")
	retryMin, retryMax := 20*time.Millisecond, 200*time.Millisecond
	if o.retry > 0 {
		retryMin, retryMax = o.retry, o.retry
	}
	c, err := consume.New(consume.Config{
		CanonicalTopic: h.canon, DLQTopic: h.dlq, BatchSize: 200, Linger: 5 * time.Millisecond,
		RetryMin: retryMin, RetryMax: retryMax, RedisTimeout: time.Second,
		Lease: o.lease, DrainTimeout: o.drain,
	}, consume.Deps{
		Fetcher: f, Producer: p, Redis: o.rdb,
		Dedup:    dedup.NewRedis(o.rdb, h.r.Prefix, time.Hour),
		States:   state.NewRedis(o.rdb, h.r.Prefix, time.Hour),
		Claims:   inflight.NewClaims(o.rdb, h.r.Prefix, o.owner, o.lease, time.Hour),
		Recovery: scanner, Metrics: h.metrics, Log: log, Normalize: o.normalize, Index: o.index,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
			_ = reader.Close()
			_ = w.Close()
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func (h *harness) produceRaw(t *testing.T, msgs ...kafka.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	require.NoError(t, h.writer.WriteMessages(ctx, msgs...))
}

// processed waits until the consumer committed n raw records.
func (h *harness) processed(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(h.metrics.RecordsIn.WithLabelValues("komerce"))+
			testutil.ToFloat64(h.metrics.RecordsIn.WithLabelValues("")) >= float64(n)
	}, 90*time.Second, 20*time.Millisecond, "consumer did not process %d raw records", n)
}

// processedAll waits until the consumer committed n raw records of any provider.
func (h *harness) processedAll(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		sum := testutil.ToFloat64(h.metrics.RecordsIn.WithLabelValues(""))
		for _, p := range adapter.Providers() {
			sum += testutil.ToFloat64(h.metrics.RecordsIn.WithLabelValues(p))
		}
		return sum >= float64(n)
	}, 90*time.Second, 20*time.Millisecond, "consumer did not process %d raw records", n)
}

// raw builds a raw record of provider as the gateway writes it.
func raw(provider, key string, body []byte, receivedAt time.Time) kafka.Message {
	return kafka.Message{
		Key:   []byte(key),
		Value: body,
		Headers: []kafka.Header{
			{Key: schemas.HeaderProvider, Value: []byte(provider)},
			{Key: schemas.HeaderReceivedAt, Value: []byte(receivedAt.UTC().Format(time.RFC3339Nano))},
			{Key: schemas.HeaderRequestID, Value: []byte("req-" + key)},
			{Key: schemas.HeaderContentType, Value: []byte("application/json")},
		},
	}
}

// events reads the canonical topic, expecting n records, and decodes them.
func (h *harness) events(t *testing.T, n int) []shipment.Event {
	t.Helper()
	msgs := h.k.ReadAll(t, h.canon, n, 30*time.Second)
	out := make([]shipment.Event, len(msgs))
	for i, m := range msgs {
		require.NoError(t, json.Unmarshal(m.Value, &out[i]))
		require.Equal(t, out[i].ID, string(broker.Header(m, schemas.HeaderEventID)))
		require.Equal(t, out[i].Subject, string(m.Key))
	}
	return out
}

// komerce builds a raw record as the gateway writes it.
func komerce(orderNo, status string, receivedAt time.Time) kafka.Message {
	body := fmt.Sprintf(`{"order_no":%q,"cnote":"JNE%s","status":%q}`, orderNo, orderNo, status)
	return kafka.Message{
		Key:   []byte(orderNo),
		Value: []byte(body),
		Headers: []kafka.Header{
			{Key: schemas.HeaderProvider, Value: []byte("komerce")},
			{Key: schemas.HeaderReceivedAt, Value: []byte(receivedAt.UTC().Format(time.RFC3339Nano))},
			{Key: schemas.HeaderRequestID, Value: []byte("req-" + orderNo)},
			{Key: schemas.HeaderContentType, Value: []byte("application/json")},
		},
	}
}

// flakyRedis is a Redis client whose connections can be cut: while down, dials fail
// and existing connections are closed, as when Redis restarts or the network drops.
type flakyRedis struct {
	down  atomic.Bool
	mu    sync.Mutex
	conns []net.Conn
}

func (f *flakyRedis) client(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond,
		Dialer: func(ctx context.Context, network, a string) (net.Conn, error) {
			if f.down.Load() {
				return nil, errors.New("redis unreachable (injected)")
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, a)
			if err == nil {
				f.mu.Lock()
				f.conns = append(f.conns, c)
				f.mu.Unlock()
			}
			return c, err
		},
	})
}

func (f *flakyRedis) setDown(down bool) {
	f.down.Store(down)
	if down {
		f.mu.Lock()
		for _, c := range f.conns {
			_ = c.Close()
		}
		f.conns = nil
		f.mu.Unlock()
	}
}
