package lookup_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// benchRecord is a raw record with realistic header sizes and its one event.
func benchRecord(i int) (kafka.Message, *shipment.Event) {
	req := fmt.Sprintf("01J%023d", i)
	m := kafka.Message{Topic: "webhooks.raw.v1", Partition: i % 6, Offset: int64(i), Headers: []kafka.Header{
		{Key: schemas.HeaderRequestID, Value: []byte(req)}, {Key: schemas.HeaderProvider, Value: []byte("kiriminaja")},
		{Key: schemas.HeaderAuth, Value: []byte("hmac-body")},
		{Key: schemas.HeaderReceivedAt, Value: []byte("2026-05-01T08:00:00.123456789Z")},
	}}
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	ev := &shipment.Event{ID: shipment.EventID(req), Subject: "kiriminaja:OID-" + strconv.Itoa(i/4), Time: at}
	ev.Data.Provider, ev.Data.Status, ev.Data.SubStatus = "kiriminaja", shipment.StatusInTransit, "arrived_at_hub"
	ev.Data.ProviderStatus, ev.Data.Advances = "shipped", true
	ev.Data.Raw.RequestID = req
	return m, ev
}

// BenchmarkIndex_Queue is the consumer's CPU cost of indexing one event (one raw
// record, one event): building the entries and queueing the commands, without
// the Redis round trip (which the batch's MULTI already pays).
func BenchmarkIndex_Queue(b *testing.B) {
	idx := lookup.NewIndex("normalizer:", time.Hour, 0)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	const batch = 1000
	recs := make([]kafka.Message, batch)
	evs := make([]*shipment.Event, batch)
	for i := range recs {
		recs[i], evs[i] = benchRecord(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += batch {
		bt := idx.Batch()
		for i := range recs {
			bt.Event(recs[i], evs[i])
		}
		pipe := rdb.Pipeline()
		bt.Queue(ctx, pipe)
	}
}

// TestIntegrationIndex_memoryPerEvent writes the index of N events the way the
// consumer does (4 events per shipment) and reports Redis memory per event:
// MEMORY USAGE summed over the keys, and used_memory before/after.
func TestIntegrationIndex_memoryPerEvent(t *testing.T) {
	r := testkit.Redis(t)
	ctx := t.Context()
	const n = 20000
	idx := lookup.NewIndex(r.Prefix, time.Hour, 0)
	before := usedMemory(t, r.Client)
	for start := 0; start < n; start += 1000 {
		bt := idx.Batch()
		for i := start; i < start+1000; i++ {
			m, ev := benchRecord(i)
			bt.Event(m, ev)
		}
		pipe := r.Client.TxPipeline()
		bt.Queue(ctx, pipe)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	after := usedMemory(t, r.Client)
	var sum int64
	iter := r.Client.Scan(ctx, 0, r.Prefix+"l*", 1000).Iterator()
	keys := 0
	for iter.Next(ctx) {
		u, err := r.Client.MemoryUsage(ctx, iter.Val()).Result()
		if err != nil {
			t.Fatal(err)
		}
		sum += u
		keys++
	}
	if keys != n+n/4 {
		t.Fatalf("%d index keys, want %d", keys, n+n/4)
	}
	t.Logf("lookup index: %d events, %d keys: MEMORY USAGE %d B/event, used_memory delta %d B/event",
		n, keys, sum/n, (after-before)/n)
	if sum/n < 100 || sum/n > 2000 {
		t.Fatalf("implausible index cost %d B/event", sum/n)
	}
}

func usedMemory(t *testing.T, rdb *redis.Client) int64 {
	info, err := rdb.Info(t.Context(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatal("no used_memory in INFO")
	return 0
}
