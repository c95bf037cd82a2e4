package broker_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
)

func newProducer(t *testing.T, k *testkit.KafkaEnv, topic string) *broker.Producer {
	t.Helper()
	p := broker.NewProducer(k.Config(), topic, broker.ProducerOptions{Compression: kafka.Snappy, MaxBatchBytes: 4 << 10})
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// TestIntegrationProducer_ConcurrentAndBatchWritesKeepOrderPerKey drives the
// producer the way the gateway does: many concurrent single-record writes
// (requests; each sender's writes are sequential) and multi-record writes (the
// spool forwarder). Every acked record must be on the topic once, on the
// partition kafka-go's Murmur2Balancer picks, and in order per key.
func TestIntegrationProducer_ConcurrentAndBatchWritesKeepOrderPerKey(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 4)
	p := newProducer(t, k, topic)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	const senders, perSender = 40, 25
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range perSender {
				m := kafka.Message{Key: []byte(fmt.Sprintf("k%d", s)), Value: []byte(fmt.Sprintf(`{"seq":%d}`, i)),
					Headers: []kafka.Header{{Key: "request_id", Value: []byte(fmt.Sprintf("k%d-%d", s, i))}}}
				if !assert.NoError(t, p.WriteMessages(ctx, m)) {
					return
				}
			}
		})
	}
	// A forwarder-style batch of 300 records over 3 keys, bigger than
	// MaxBatchBytes (4 KiB): it is split over several requests, in order.
	batch := make([]kafka.Message, 300)
	for i := range batch {
		key := fmt.Sprintf("b%d", i%3)
		batch[i] = kafka.Message{Key: []byte(key), Value: []byte(strings.Repeat("x", 40)),
			Headers: []kafka.Header{{Key: "request_id", Value: []byte(fmt.Sprintf("%s-%d", key, i/3))}}}
	}
	require.NoError(t, p.WriteMessages(ctx, batch...))
	wg.Wait()

	total := senders*perSender + len(batch)
	msgs := k.ReadAll(t, topic, total, 60*time.Second)
	require.Len(t, msgs, total)
	var bal kafka.Murmur2Balancer
	next := map[string]int{}
	for _, m := range msgs { // ReadAll keeps each partition's order
		id := ""
		for _, h := range m.Headers {
			if h.Key == "request_id" {
				id = string(h.Value)
			}
		}
		key, seqStr, _ := strings.Cut(id, "-")
		seq, err := strconv.Atoi(seqStr)
		require.NoError(t, err, id)
		assert.Equal(t, key, string(m.Key))
		assert.Equal(t, bal.Balance(m, 0, 1, 2, 3), m.Partition, "%s: Murmur2 partition", id)
		assert.Equal(t, next[key], seq, "%s: in order per key", id)
		next[key] = seq + 1
		assert.False(t, m.Time.IsZero())
	}
}

func TestIntegrationProducer_CloseFlushesThenRefuses(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 2)
	p := newProducer(t, k, topic)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	require.NoError(t, p.WriteMessages(ctx, kafka.Message{Key: []byte("a"), Value: []byte("1")}))
	require.NoError(t, p.Close())
	require.ErrorIs(t, p.WriteMessages(ctx, kafka.Message{Key: []byte("a"), Value: []byte("2")}), broker.ErrProducerClosed)
	require.Len(t, k.ReadAll(t, topic, 1, 20*time.Second), 1)
}

func TestIntegrationProducer_MissingTopicFails(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	p := newProducer(t, k, testkit.UniqueName(t, "topic")+"-never-created")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.Error(t, p.WriteMessages(ctx, kafka.Message{Key: []byte("a"), Value: []byte("1")}))
}
