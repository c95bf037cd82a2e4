package testkit_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
)

// TestIntegrationKafka_GroupResumesAfterCommit produces 10,000 records with
// acks=all, consumes part of them in a consumer group, commits, restarts the
// reader and checks it resumes exactly after the committed offsets.
func TestIntegrationKafka_GroupResumesAfterCommit(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 3)
	group := k.Group(t)
	ctx := t.Context()
	const total, firstRun = 10_000, 6_000

	w := broker.NewWriter(k.Config(), topic, zap.NewNop(), broker.WriterOptions{})
	require.Equal(t, kafka.RequireAll, w.RequiredAcks)
	msgs := make([]kafka.Message, total)
	for i := range msgs {
		msgs[i] = kafka.Message{
			Key:     []byte("shipment-" + strconv.Itoa(i%97)),
			Value:   []byte(strconv.Itoa(i)),
			Headers: []kafka.Header{{Key: "seq", Value: []byte(strconv.Itoa(i))}},
		}
	}
	start := time.Now()
	require.NoError(t, w.WriteMessages(ctx, msgs...))
	require.NoError(t, w.Close())
	t.Logf("produced %d records with acks=all in %s", total, time.Since(start))

	seen := map[string]int{}
	committed := map[int]int64{} // partition -> last committed offset
	r := broker.NewReader(k.Config(), group, []string{topic}, zap.NewNop(), broker.ReaderOptions{})
	batch := make([]kafka.Message, 0, 500)
	for i := 0; i < firstRun; i++ {
		m, err := fetch(ctx, r)
		require.NoError(t, err)
		require.Equal(t, string(m.Value), string(broker.Header(m, "seq")), "headers travel with the record")
		seen[string(m.Value)]++
		batch = append(batch, m)
		if len(batch) == cap(batch) {
			require.NoError(t, r.CommitMessages(ctx, broker.LastPerPartition(batch)...))
			for _, c := range broker.LastPerPartition(batch) {
				committed[c.Partition] = c.Offset
			}
			batch = batch[:0]
		}
	}
	require.Empty(t, batch, "firstRun is a multiple of the commit batch")
	require.NoError(t, r.Close())

	// A new reader in the same group resumes after the committed offsets: the first
	// record it sees on each partition is committed+1, and nothing is read twice.
	r2 := broker.NewReader(k.Config(), group, []string{topic}, zap.NewNop(), broker.ReaderOptions{})
	defer r2.Close()
	firstOffset := map[int]int64{}
	for i := 0; i < total-firstRun; i++ {
		m, err := fetch(ctx, r2)
		require.NoError(t, err)
		if _, ok := firstOffset[m.Partition]; !ok {
			firstOffset[m.Partition] = m.Offset
		}
		seen[string(m.Value)]++
	}
	for p, off := range firstOffset {
		if c, ok := committed[p]; ok {
			assert.Equal(t, c+1, off, "partition %d resumes after its committed offset", p)
		} else {
			assert.Equal(t, int64(0), off, "partition %d had no commit and starts at the beginning", p)
		}
	}
	assert.Len(t, seen, total, "every record was consumed")
	for v, n := range seen {
		if n != 1 {
			t.Errorf("record %s consumed %d times", v, n)
		}
	}
	// Nothing more is waiting.
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, err := r2.FetchMessage(short)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "no record beyond the %d produced", total)
}

func fetch(ctx context.Context, r *kafka.Reader) (kafka.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return r.FetchMessage(ctx)
}

// TestIntegrationRedis_SetNXWithTTL checks the primitive the normalizer's dedup is
// built on: SET NX with an expiry, against a real Redis server.
func TestIntegrationRedis_SetNXWithTTL(t *testing.T) {
	t.Parallel()
	r := testkit.Redis(t)
	ctx := t.Context()
	key := r.Prefix + "dedup:kiriminaja:OID-1:shipped"

	ok, err := r.Client.SetNX(ctx, key, "1", 300*time.Millisecond).Result()
	require.NoError(t, err)
	assert.True(t, ok, "first SET NX wins")

	ok, err = r.Client.SetNX(ctx, key, "2", time.Minute).Result()
	require.NoError(t, err)
	assert.False(t, ok, "second SET NX on the same key loses")
	assert.Equal(t, "1", r.Client.Get(ctx, key).Val(), "the losing SET NX did not overwrite")

	ttl := r.Client.PTTL(ctx, key).Val()
	assert.Greater(t, ttl, time.Duration(0))
	assert.LessOrEqual(t, ttl, 300*time.Millisecond)

	require.Eventually(t, func() bool {
		return errorsIsNil(r.Client.Get(ctx, key).Err())
	}, 5*time.Second, 50*time.Millisecond, "key expires after its TTL")
	ok, err = r.Client.SetNX(ctx, key, "3", time.Minute).Result()
	require.NoError(t, err)
	assert.True(t, ok, "after expiry the key can be set again")

	// Pipelined SET NX, the way the normalizer batches a fetched batch.
	pipe := r.Client.Pipeline()
	cmds := make([]*redis.BoolCmd, 100)
	for i := range cmds {
		cmds[i] = pipe.SetNX(ctx, fmt.Sprintf("%sp:%d", r.Prefix, i%50), "1", time.Minute)
	}
	_, err = pipe.Exec(ctx)
	require.NoError(t, err)
	won := 0
	for _, c := range cmds {
		if c.Val() {
			won++
		}
	}
	assert.Equal(t, 50, won, "exactly one of each duplicated key wins inside one pipeline")
}

// errorsIsNil reports whether err is redis.Nil (the key does not exist).
func errorsIsNil(err error) bool { return err == redis.Nil }
