package inflight_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas"
)

func TestIntegrationClaims(t *testing.T) {
	t.Parallel()
	r := testkit.Redis(t)
	ctx := t.Context()
	a := inflight.NewClaims(r.Client, r.Prefix, "owner-a", time.Hour, time.Hour)
	b := inflight.NewClaims(r.Client, r.Prefix, "owner-b", time.Hour, time.Hour)
	bShort := inflight.NewClaims(r.Client, r.Prefix, "owner-b", time.Millisecond, time.Hour)
	from := map[int]int64{0: 10, 1: 20}

	res, err := a.Claim(ctx, []string{"raw:0", "raw:1"}, from)
	require.NoError(t, err)
	require.Len(t, res.Held, 2)
	assert.Empty(t, res.Stale)

	res, err = b.Claim(ctx, []string{"raw:1", "raw:2"}, from)
	require.NoError(t, err)
	assert.Empty(t, res.Held, "all or nothing: raw:2 is not claimed while raw:1 is busy")
	assert.Positive(t, res.Busy)

	res2, err := b.Claim(ctx, []string{"raw:2"}, nil)
	require.NoError(t, err)
	require.Len(t, res2.Held, 1, "raw:2 stayed free")
	require.NoError(t, b.Release(ctx, res2.Held))

	// An expired lease (seen by an owner with a 1 ms lease) hands the claim over as stale.
	require.Eventually(t, func() bool {
		res, err = bShort.Claim(ctx, []string{"raw:1"}, nil)
		return err == nil && len(res.Stale) == 1
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, from, res.Stale[0].From)

	// Our own leftover claim is stale for us: we may have produced before failing.
	own, err := a.Claim(ctx, []string{"raw:0"}, nil)
	require.NoError(t, err)
	require.Len(t, own.Stale, 1)
	require.NoError(t, a.Drop(ctx, own.Stale))
	require.NoError(t, bShort.Drop(ctx, res.Stale))

	res, err = b.Claim(ctx, []string{"raw:0", "raw:1"}, from)
	require.NoError(t, err)
	require.Len(t, res.Held, 2, "dropped claims are free again")

	// Release only deletes claims that are still ours.
	c := inflight.NewClaims(r.Client, r.Prefix, "owner-c", time.Millisecond, time.Hour)
	var stolen inflight.Result
	require.Eventually(t, func() bool {
		stolen, err = c.Claim(ctx, []string{"raw:0"}, nil)
		return err == nil && len(stolen.Stale) == 1
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, r.Client.Set(ctx, stolen.Stale[0].Key, "1|owner-c|{}", 0).Err())
	require.NoError(t, b.Release(ctx, res.Held))
	v, err := r.Client.Get(ctx, stolen.Stale[0].Key).Result()
	require.NoError(t, err)
	assert.Equal(t, "1|owner-c|{}", v)
}

func TestIntegrationScanner(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	write := eventWriter(ctx, t, k, topic)
	s := inflight.NewScanner(k.Brokers, topic, "ce_id", nil)
	require.NoError(t, s.RefreshUntil(ctx), "a new topic's leaders may take a moment")
	assert.Len(t, s.Offsets(), 3)

	write("a", "b", "c", "d")
	require.NoError(t, s.Refresh(ctx))
	mid := s.Offsets()
	write("e", "f", "g")

	recovered := func(ids ...string) []inflight.Recovered {
		out := make([]inflight.Recovered, len(ids))
		for i, id := range ids {
			out[i] = inflight.Recovered{ID: id, RawSource: "raw/0/" + id}
		}
		return out
	}
	all, err := s.Scan(ctx, nil)
	require.NoError(t, err)
	assert.ElementsMatch(t, recovered("a", "b", "c", "d", "e", "f", "g"), all, "each event with the raw record it came from")
	after, err := s.Scan(ctx, mid)
	require.NoError(t, err)
	assert.ElementsMatch(t, recovered("e", "f", "g"), after)
}

// TestIntegrationScannerRefreshesOnDemand checks Run leaves an unasked snapshot
// alone (an idle normalizer sends no ListOffsets), refreshes as soon as Offsets
// finds it old, and keeps it fresh while Offsets is being called.
func TestIntegrationScannerRefreshesOnDemand(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	write := eventWriter(ctx, t, k, topic)
	sum := func(offs map[int]int64) (n int64) {
		for _, o := range offs {
			n += o
		}
		return n
	}
	s := inflight.NewScanner(k.Brokers, topic, "ce_id", nil)
	require.NoError(t, s.RefreshUntil(ctx))
	go s.Run(ctx, 50*time.Millisecond)

	write("a", "b", "c", "d")
	time.Sleep(400 * time.Millisecond) // eight intervals, nobody asking
	assert.Zero(t, sum(s.Offsets()), "an unasked snapshot is not refreshed before IdleRefresh")
	require.Eventually(t, func() bool { return sum(s.Offsets()) == 4 }, 5*time.Second, 10*time.Millisecond,
		"asking for an old snapshot refreshes it")

	write("e", "f", "g")
	require.Eventually(t, func() bool { return sum(s.Offsets()) == 7 }, 5*time.Second, 10*time.Millisecond,
		"a snapshot being asked for is kept fresh")
}

// eventWriter returns a function writing one record per id to topic, keyed by
// the id and carrying it in the ce_id header, as canonical events do.
func eventWriter(ctx context.Context, t *testing.T, k *testkit.KafkaEnv, topic string) func(ids ...string) {
	w := broker.NewWriter(k.Config(), topic, nil, broker.WriterOptions{})
	t.Cleanup(func() { _ = w.Close() })
	return func(ids ...string) {
		msgs := make([]kafka.Message, len(ids))
		for i, id := range ids {
			msgs[i] = kafka.Message{Key: []byte(id), Value: []byte("{}"), Headers: []kafka.Header{
				{Key: "ce_id", Value: []byte(id)}, {Key: schemas.HeaderRawSource, Value: []byte("raw/0/" + id)}}}
		}
		require.NoError(t, w.WriteMessages(ctx, msgs...))
	}
}
