package repair_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// t0 is the provider time of every test event's first step.
var t0 = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)

// body is the test provider's payload: one status of one shipment.
type body struct {
	Shipment string `json:"shipment"`
	Status   string `json:"status"`
	Seq      int    `json:"seq"`
}

// mapping is a test adapter's status table: a status missing from both maps is
// "unknown"; a dead one cannot be mapped at all (the adapter lacked the mapping
// and refused the payload).
type mapping struct {
	status map[string]shipment.Status
	dead   map[string]bool
}

// normalize is the test provider's adapter under m. The dedup key holds only raw
// fields, as real adapters' keys do, so a fixed mapping keeps event ids.
func (m mapping) normalize(rec adapter.RawRecord) ([]adapter.Output, error) {
	var b body
	if err := json.Unmarshal(rec.Body, &b); err != nil {
		return nil, adapter.Permanent(adapter.ReasonInvalidJSON, "%v", err)
	}
	if m.dead[b.Status] {
		return nil, adapter.Permanent(adapter.ReasonUnsupportedShape, "no mapping for status %q", b.Status)
	}
	st, ok := m.status[b.Status]
	if !ok {
		st = shipment.StatusUnknown
	}
	key := "testco|" + b.Shipment + "|" + strconv.Itoa(b.Seq) + "|" + b.Status
	at := t0.Add(time.Duration(b.Seq) * time.Minute)
	subject := shipment.Key("testco", b.Shipment)
	ev := shipment.Event{
		SpecVersion: shipment.SpecVersion, ID: shipment.EventID(key), Source: shipment.Source("testco"),
		Type: shipment.EventType, Subject: subject, Time: at, DataContentType: shipment.DataContentType,
		DataSchema: shipment.DataSchemaURI, PartitionKey: subject,
		Data: shipment.Data{
			SchemaVersion: shipment.DataVersion, Provider: "testco", ShipmentID: b.Shipment,
			ServiceType: shipment.ServiceUnknown, Status: st, ProviderStatus: b.Status,
			Terminal: st == shipment.StatusDelivered, OccurredAt: &at, ReceivedAt: rec.ReceivedAt,
			Raw: shipment.RawRef{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, RequestID: rec.RequestID},
		},
	}
	return []adapter.Output{{Event: ev, DedupKey: key}}, nil
}

// env is one test's topics, Redis prefix and live normalizer.
type env struct {
	k               *testkit.KafkaEnv
	r               *testkit.RedisEnv
	raw, canon, dlq string
	group           string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	k, r := testkit.Kafka(t), testkit.Redis(t)
	return &env{k: k, r: r, raw: k.Topic(t, 3), canon: k.Topic(t, 3), dlq: k.Topic(t, 1), group: k.Group(t)}
}

// live runs the normalizer's consumer (the live group) with normalize and the
// lookup index until stop is called.
func (e *env) live(t *testing.T, normalize consume.NormalizeFunc) (stop func()) {
	t.Helper()
	rdb := e.r.Client
	reader := broker.NewReader(e.k.Config(), e.group, []string{e.raw}, nil, broker.ReaderOptions{})
	w := broker.NewWriter(e.k.Config(), "", nil, broker.WriterOptions{MaxAttempts: 1})
	scanner := inflight.NewScanner(e.k.Brokers, e.canon, schemas.HeaderEventID, nil)
	require.Eventually(t, func() bool { return scanner.Refresh(t.Context()) == nil }, 30*time.Second, 50*time.Millisecond)
	c, err := consume.New(consume.Config{
		CanonicalTopic: e.canon, DLQTopic: e.dlq, BatchSize: 50, Linger: 5 * time.Millisecond,
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, RedisTimeout: time.Second,
		Lease: 30 * time.Second, DrainTimeout: 10 * time.Second,
	}, consume.Deps{
		Fetcher: reader, Producer: w, Redis: rdb,
		Dedup:    dedup.NewRedis(rdb, e.r.Prefix, time.Hour),
		States:   state.NewRedis(rdb, e.r.Prefix, time.Hour),
		Claims:   inflight.NewClaims(rdb, e.r.Prefix, testkit.UniqueName(t, "owner"), 30*time.Second, time.Hour),
		Recovery: scanner, Metrics: consume.NewMetrics(prometheus.NewRegistry()), Log: zaptest.NewLogger(t),
		Normalize: normalize, Index: lookup.NewIndex(e.r.Prefix, time.Hour, 0),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
			_ = reader.Close()
			_ = w.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// rawRecord is a webhook as the gateway writes it.
func rawRecord(i int, b body) kafka.Message {
	v, _ := json.Marshal(b)
	return kafka.Message{Key: []byte(b.Shipment), Value: v, Headers: []kafka.Header{
		{Key: schemas.HeaderProvider, Value: []byte("testco")},
		{Key: schemas.HeaderRequestID, Value: []byte(fmt.Sprintf("req-%03d", i))},
		{Key: schemas.HeaderReceivedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		{Key: schemas.HeaderAuth, Value: []byte("bearer")},
	}}
}

func (e *env) produce(t *testing.T, msgs ...kafka.Message) {
	t.Helper()
	w := broker.NewWriter(e.k.Config(), e.raw, nil, broker.WriterOptions{})
	defer w.Close()
	require.NoError(t, w.WriteMessages(t.Context(), msgs...))
}

// writer is an acks=all writer for the repair commands.
func (e *env) writer(t *testing.T) *kafka.Writer {
	w := broker.NewWriter(e.k.Config(), "", nil, broker.WriterOptions{})
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// events reads the canonical topic until it holds want records, then a little
// longer so that extra records would show, and returns them decoded.
func (e *env) events(t *testing.T, want int) []shipment.Event {
	t.Helper()
	var msgs []kafka.Message
	require.Eventually(t, func() bool {
		msgs = e.k.ReadAll(t, e.canon, want, 2*time.Second)
		return len(msgs) >= want
	}, 60*time.Second, 200*time.Millisecond, "waiting for %d canonical events", want)
	msgs = e.k.ReadAll(t, e.canon, want+1, 2*time.Second)
	out := make([]shipment.Event, len(msgs))
	for i, m := range msgs {
		require.NoError(t, json.Unmarshal(m.Value, &out[i]))
		require.Equal(t, out[i].ID, string(broker.Header(m, schemas.HeaderEventID)))
	}
	return out
}

// settled waits until the live group has committed every raw record, so the
// records it would still produce from are all processed.
func (e *env) settled(t *testing.T) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(e.k.Brokers...), Timeout: 5 * time.Second}
	require.Eventually(t, func() bool {
		ends, err := c.ListOffsets(t.Context(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
			e.raw: {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1), kafka.LastOffsetOf(2)}}})
		if err != nil {
			return false
		}
		com, err := c.OffsetFetch(t.Context(), &kafka.OffsetFetchRequest{GroupID: e.group, Topics: map[string][]int{e.raw: {0, 1, 2}}})
		if err != nil {
			return false
		}
		committed := map[int]int64{}
		for _, p := range com.Topics[e.raw] {
			committed[p.Partition] = p.CommittedOffset
		}
		for _, p := range ends.Topics[e.raw] {
			if p.LastOffset > 0 && committed[p.Partition] < p.LastOffset {
				return false
			}
		}
		return true
	}, 60*time.Second, 100*time.Millisecond, "live group commits every raw record")
}

// ids counts events by id.
func ids(evs []shipment.Event) map[string]int {
	out := map[string]int{}
	for _, e := range evs {
		out[e.ID]++
	}
	return out
}
