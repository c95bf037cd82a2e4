package consume_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/consume"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func TestIntegrationConsumer_sameWebhookThreeTimesYieldsOneEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{})
	// Three deliveries of one webhook (the provider retried; the gateway received
	// each at its own time), then one other event.
	h.produceRaw(t, komerce("K-1", "Dikirim", t0), komerce("K-1", "Dikirim", t0.Add(time.Minute)))
	h.produceRaw(t, komerce("K-1", "Dikirim", t0.Add(2*time.Minute)), komerce("K-1", "Selesai", t0.Add(3*time.Minute)))
	h.processed(t, 4)

	evs := h.events(t, 2)
	require.Len(t, evs, 2)
	assert.Equal(t, shipment.StatusInTransit, evs[0].Data.Status)
	assert.Equal(t, shipment.StatusDelivered, evs[1].Data.Status)
	assert.Equal(t, 2.0, testutil.ToFloat64(h.metrics.Duplicates.WithLabelValues("komerce")))
}

// TestIntegrationConsumer_redeliveryIsIndexedAsDuplicate: a provider retry (new
// request id, same bytes) produces no event, and the lookup index answers for
// its request id with the event it repeated instead of "never seen".
func TestIntegrationConsumer_redeliveryIsIndexedAsDuplicate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{index: lookup.NewIndex(h.r.Prefix, time.Hour, 10)})
	first, retry := komerce("K-9", "Dikirim", t0), komerce("K-9", "Dikirim", t0.Add(time.Minute))
	retry.Headers[2].Value = []byte("req-K-9-retry")
	h.produceRaw(t, first)
	h.processed(t, 1)
	h.produceRaw(t, retry)
	h.processed(t, 2)

	evs := h.events(t, 1)
	require.Len(t, evs, 1)
	store := lookup.NewStore(h.r.Client, h.r.Prefix)
	orig, err := store.Webhook(t.Context(), "req-K-9")
	require.NoError(t, err)
	require.Len(t, orig.Events, 1)
	assert.Equal(t, evs[0].ID, orig.Events[0].ID)
	assert.Nil(t, orig.DuplicateOf)
	dup, err := store.Webhook(t.Context(), "req-K-9-retry")
	require.NoError(t, err, "the retry's request id is in the index")
	assert.Empty(t, dup.Events)
	assert.Equal(t, []string{evs[0].ID}, dup.DuplicateOf)
}

// TestIntegrationConsumer_recoveredOwnEventIsIndexedAsTheRecords: a produce
// that landed but was reported failed is recovered on the retry (its events
// marked); the retried records then find their own events marked, which are not
// re-deliveries: the lookup index names each event under the record that made
// it, not as a duplicate of itself.
func TestIntegrationConsumer_recoveredOwnEventIsIndexedAsTheRecords(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	al := &ackLost{}
	al.fails.Store(1)
	h.start(t, options{index: lookup.NewIndex(h.r.Prefix, time.Hour, 10),
		producer: func(p consume.Producer) consume.Producer { al.next = p; return al }})
	msg := komerce("K-R", "Dijemput", t0)
	h.produceRaw(t, msg)
	h.processed(t, 1)
	evs := h.events(t, 1)
	require.Len(t, evs, 1)
	require.Eventually(t, func() bool { return testutil.ToFloat64(h.metrics.Recovered) >= 1 }, 30*time.Second, 20*time.Millisecond,
		"the write reported failed was recovered")
	store := lookup.NewStore(h.r.Client, h.r.Prefix)
	var w *lookup.Webhook
	require.Eventually(t, func() bool {
		var err error
		w, err = store.Webhook(t.Context(), "req-K-R")
		return err == nil
	}, 30*time.Second, 20*time.Millisecond)
	require.Len(t, w.Events, 1, "the record's own event, produced by the attempt that lost its ack")
	assert.Equal(t, evs[0].ID, w.Events[0].ID)
	assert.Nil(t, w.DuplicateOf, "not a duplicate of itself")
	recent, err := store.Recent(t.Context(), "komerce:K-R", 10)
	require.NoError(t, err)
	require.Len(t, recent, 1, "the shipment's event list has it too")
}

func TestIntegrationConsumer_poisonRecordGoesToDLQAndPartitionMovesOn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{})
	poison := komerce("K-2", "Dikirim", t0)
	poison.Value = []byte("{not json at all")
	poison.Key = []byte("poison-key")
	noProvider := komerce("K-3", "Dikirim", t0)
	noProvider.Headers = noProvider.Headers[1:] // the provider header is missing
	h.produceRaw(t, komerce("K-1", "Dikirim", t0), poison, noProvider, komerce("K-4", "Selesai", t0))
	h.processed(t, 4)

	evs := h.events(t, 2)
	require.Len(t, evs, 2)
	assert.Equal(t, "komerce:K-1", evs[0].Subject)
	assert.Equal(t, "komerce:K-4", evs[1].Subject, "the record behind the poison one was processed")

	dl := h.k.ReadAll(t, h.dlq, 2, 30*time.Second)
	require.Len(t, dl, 2)
	assert.Equal(t, poison.Value, dl[0].Value, "original bytes")
	assert.Equal(t, poison.Key, dl[0].Key, "original key")
	for _, orig := range poison.Headers {
		assert.Equal(t, orig.Value, broker.Header(dl[0], orig.Key), "original header %s", orig.Key)
	}
	assert.Equal(t, "invalid_json", string(broker.Header(dl[0], schemas.HeaderDLQReason)))
	assert.Equal(t, h.raw+"/0/1", string(broker.Header(dl[0], schemas.HeaderDLQSource)))
	assert.Equal(t, "normalizer", string(broker.Header(dl[0], schemas.HeaderDLQService)))
	assert.NotEmpty(t, broker.Header(dl[0], schemas.HeaderDLQError))
	_, err := time.Parse(time.RFC3339Nano, string(broker.Header(dl[0], schemas.HeaderDLQAt)))
	assert.NoError(t, err)
	assert.Equal(t, "unknown_provider", string(broker.Header(dl[1], schemas.HeaderDLQReason)))
	assert.Equal(t, noProvider.Value, dl[1].Value)
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.DeadLettered.WithLabelValues("invalid_json")))
}

// TestIntegrationConsumer_unencodableEventIsDeadLettered feeds an event JSON cannot
// carry (a time past year 9999): the record goes to the DLQ with reason
// encode_failed instead of retrying its batch forever, and the partition moves on.
func TestIntegrationConsumer_unencodableEventIsDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{normalize: func(rec adapter.RawRecord) ([]adapter.Output, error) {
		outs, err := adapter.Normalize(rec)
		for i := range outs {
			if outs[i].Event.Data.ShipmentID == "K-BAD" {
				outs[i].Event.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			}
		}
		return outs, err
	}})
	bad := komerce("K-BAD", "Dikirim", t0)
	h.produceRaw(t, komerce("K-1", "Dikirim", t0), bad, komerce("K-2", "Selesai", t0))
	h.processed(t, 3)

	evs := h.events(t, 2)
	require.Len(t, evs, 2)
	assert.Equal(t, "komerce:K-1", evs[0].Subject)
	assert.Equal(t, "komerce:K-2", evs[1].Subject, "the record behind the unencodable one was processed")
	dl := h.k.ReadAll(t, h.dlq, 1, 30*time.Second)
	require.Len(t, dl, 1)
	assert.Equal(t, bad.Value, dl[0].Value)
	assert.Equal(t, consume.ReasonEncodeFailed, string(broker.Header(dl[0], schemas.HeaderDLQReason)))
}

// TestIntegrationConsumer_oversizedEventIsDeadLettered feeds an event larger than
// any produce request can carry (here past kafka-go's 8 MiB BatchBytes; past the
// broker's message.max.bytes is the same): the record goes to the DLQ with reason
// event_too_large instead of failing its batch's produce forever, and the
// partition moves on.
func TestIntegrationConsumer_oversizedEventIsDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{normalize: func(rec adapter.RawRecord) ([]adapter.Output, error) {
		outs, err := adapter.Normalize(rec)
		for i := range outs {
			if outs[i].Event.Data.ShipmentID == "K-BIG" {
				outs[i].Event.Data.Reason = strings.Repeat("x", 9<<20)
			}
		}
		return outs, err
	}})
	big := komerce("K-BIG", "Dikirim", t0)
	h.produceRaw(t, komerce("K-1", "Dikirim", t0), big, komerce("K-2", "Selesai", t0))
	h.processed(t, 3)

	evs := h.events(t, 2)
	require.Len(t, evs, 2)
	assert.Equal(t, "komerce:K-1", evs[0].Subject)
	assert.Equal(t, "komerce:K-2", evs[1].Subject, "the record behind the oversized one was processed")
	dl := h.k.ReadAll(t, h.dlq, 1, 30*time.Second)
	require.Len(t, dl, 1)
	assert.Equal(t, big.Value, dl[0].Value)
	assert.Equal(t, consume.ReasonEventTooLarge, string(broker.Header(dl[0], schemas.HeaderDLQReason)))
}

// failingFetcher fails its first n fetches the way kafka-go's reader does while the
// broker is unreachable (a dial error from the group's run loop), then delegates.
type failingFetcher struct {
	consume.Fetcher
	left atomic.Int32
}

func (f *failingFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	if f.left.Add(-1) >= 0 {
		return kafka.Message{}, errors.New("failed to dial: failed to open connection to 127.0.0.1:9092: connection refused")
	}
	return f.Fetcher.FetchMessage(ctx)
}

// TestIntegrationConsumer_fetchErrorsAreRetried checks that a broker outage seen by
// the reader does not stop the consumer: it backs off, fetches again, and processes
// every record once the fetches succeed.
func TestIntegrationConsumer_fetchErrorsAreRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	ff := &failingFetcher{}
	ff.left.Store(5)
	h.start(t, options{fetcher: func(r consume.Fetcher) consume.Fetcher { ff.Fetcher = r; return ff }})
	h.produceRaw(t, komerce("K-1", "Dikirim", t0), komerce("K-2", "Selesai", t0))
	h.processed(t, 2)
	require.Len(t, h.events(t, 2), 2)
	assert.Equal(t, 5.0, testutil.ToFloat64(h.metrics.Retries.WithLabelValues("fetch")))
}

func TestIntegrationConsumer_olderEventAfterDeliveredDoesNotAdvance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{})
	h.produceRaw(t, komerce("K-1", "Selesai", t0))
	h.processed(t, 1)
	// A lifecycle event after a terminal one never advances (receive times
	// are never compared; Komerce bodies carry no provider time).
	h.produceRaw(t, komerce("K-1", "Dikirim", t0.Add(-time.Hour)), komerce("K-9", "Dikirim", t0))
	h.processed(t, 3)

	evs := h.events(t, 3)
	require.Len(t, evs, 3)
	byStatus := map[string]shipment.Event{}
	for _, e := range evs {
		byStatus[e.Subject+"/"+string(e.Data.Status)] = e
	}
	assert.True(t, byStatus["komerce:K-1/delivered"].Data.Advances)
	assert.False(t, byStatus["komerce:K-1/in_transit"].Data.Advances, "an older in_transit must not move a delivered shipment back")
	assert.True(t, byStatus["komerce:K-9/in_transit"].Data.Advances)
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.NotAdvancing.WithLabelValues("komerce")))
}

func TestIntegrationConsumer_redisOutageDoesNotCommitOrLose(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2)
	var fr flakyRedis
	rdb := fr.client(h.r.Addr)
	t.Cleanup(func() { _ = rdb.Close() })
	h.start(t, options{rdb: rdb})
	h.produceRaw(t, komerce("warmup", "Dikirim", t0))
	h.processed(t, 1)

	fr.setDown(true)
	const n = 100
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = komerce(fmt.Sprintf("K-%03d", i), "Dikirim", t0)
	}
	h.produceRaw(t, msgs...)
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(h.metrics.Retries.WithLabelValues("claim")) >= 3
	}, 30*time.Second, 10*time.Millisecond, "the consumer retries while Redis is down")
	committed := h.committed(t)
	assert.Equal(t, int64(1), committed, "nothing past the warm-up record is committed during the outage")
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.RecordsIn.WithLabelValues("komerce")))

	fr.setDown(false)
	h.processed(t, n+1)
	evs := h.events(t, n+1)
	ids := map[string]bool{}
	for _, e := range evs {
		ids[e.ID] = true
	}
	assert.Len(t, evs, n+1)
	assert.Len(t, ids, n+1, "every event exactly once")
}

// ackLost writes for real but reports failure the first times it is called, as
// when the broker appended the batch and the acknowledgement was lost.
type ackLost struct {
	next  consume.Producer
	fails atomic.Int32
	lost  atomic.Int64 // records in the writes reported as failed
}

func (a *ackLost) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	if err := a.next.WriteMessages(ctx, msgs...); err != nil {
		return err
	}
	if a.fails.Add(-1) >= 0 {
		a.lost.Add(int64(len(msgs)))
		return errors.New("acknowledgement lost (injected)")
	}
	return nil
}

func TestIntegrationConsumer_writeThatLandedButFailedIsNotDuplicated(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2)
	al := &ackLost{}
	al.fails.Store(2)
	h.start(t, options{producer: func(p consume.Producer) consume.Producer { al.next = p; return al }})
	const n = 50
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = komerce(fmt.Sprintf("K-%03d", i), "Dijemput", t0)
	}
	h.produceRaw(t, msgs...)
	h.processed(t, n)
	evs := h.events(t, n)
	ids := map[string]bool{}
	for _, e := range evs {
		ids[e.ID] = true
	}
	assert.Len(t, evs, n, "the retried batch produced nothing twice")
	assert.Len(t, ids, n)
	assert.GreaterOrEqual(t, testutil.ToFloat64(h.metrics.Retries.WithLabelValues("produce")), 1.0)
	// The records of every write reported as failed were found already
	// written (recovered), not produced again. How the 50 records fall into
	// batches depends on timing, so count what the failed writes held.
	require.Positive(t, al.lost.Load())
	assert.GreaterOrEqual(t, testutil.ToFloat64(h.metrics.Recovered), float64(al.lost.Load()))
}

// refusing fails every write.
type refusing struct{ err error }

func (r refusing) WriteMessages(context.Context, ...kafka.Message) error { return r.err }

// TestIntegrationConsumer_drainDeadlineErrorNamesTheStep: a batch whose produce
// keeps failing is retried under the step label "produce" until the drain
// deadline cuts it short; Run's error is then a *consume.StepError naming that
// step and wrapping the producer's error, and nothing is committed.
func TestIntegrationConsumer_drainDeadlineErrorNamesTheStep(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	refused := errors.New("broker refuses the write (injected)")
	// A long backoff between attempts, so the drain deadline cuts the batch
	// while it waits to retry after a refused produce, not inside an attempt's
	// recovery of the claim the refused one left (which would name that step).
	stop := h.run(t, options{drain: 200 * time.Millisecond, retry: 2 * time.Second,
		producer: func(consume.Producer) consume.Producer { return refusing{refused} }})
	h.produceRaw(t, komerce("K-1", "Dikirim", t0))
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(h.metrics.Retries.WithLabelValues(string(consume.StepProduce))) >= 2
	}, 30*time.Second, 10*time.Millisecond, "the batch is retried")

	err := stop()
	var se *consume.StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, consume.StepProduce, se.Step)
	assert.ErrorIs(t, err, refused)
	assert.Contains(t, err.Error(), "produce: producing 1 records")
	assert.Zero(t, h.committed(t), "the cut batch is not committed")
}

// committed sums the group's committed offsets on the raw topic.
func (h *harness) committed(t *testing.T) int64 {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(h.k.Brokers...), Timeout: 10 * time.Second}
	resp, err := c.OffsetFetch(t.Context(), &kafka.OffsetFetchRequest{GroupID: h.group, Topics: map[string][]int{h.raw: {0, 1}}})
	require.NoError(t, err)
	var sum int64
	for _, p := range resp.Topics[h.raw] {
		if p.CommittedOffset > 0 {
			sum += p.CommittedOffset
		}
	}
	return sum
}
