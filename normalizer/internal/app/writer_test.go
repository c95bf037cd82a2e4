package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/app"
	"github.com/courierhook/pipeline/platform/testkit"
)

// TestIntegrationEventWriter_CanonicalAndDeadLetters: one batch mixing
// canonical records and dead letters lands whole, each record on the topic it
// names, the canonical ones keyed as given (Murmur2, so one key keeps one
// partition) and in the batch's order within a partition.
func TestIntegrationEventWriter_CanonicalAndDeadLetters(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	canonical, dlq := k.Topic(t, 6), k.Topic(t, 1)
	w := app.NewEventWriter(k.Config(), canonical, 10*time.Second, nil)
	t.Cleanup(func() { _ = w.Close() })

	var batch []kafka.Message
	for i := range 60 {
		batch = append(batch, kafka.Message{Topic: canonical, Key: []byte(fmt.Sprintf("ship-%d", i%7)), Value: []byte(fmt.Sprint(i))})
		if i%20 == 5 {
			batch = append(batch, kafka.Message{Topic: dlq, Key: []byte("bad"), Value: []byte(fmt.Sprintf("dead-%d", i))})
		}
	}
	require.NoError(t, w.WriteMessages(t.Context(), batch...))
	// Only canonical records: the Producer alone.
	require.NoError(t, w.WriteMessages(t.Context(), kafka.Message{Topic: canonical, Key: []byte("ship-0"), Value: []byte("60")}))

	got := k.ReadAll(t, canonical, 61, 30*time.Second)
	require.Len(t, got, 61)
	partOf := map[string]int{}
	last := map[string]int{}
	for _, m := range got {
		key := string(m.Key)
		if p, ok := partOf[key]; ok {
			assert.Equal(t, p, m.Partition, "key %s stays on one partition", key)
		}
		partOf[key] = m.Partition
		var n int
		_, err := fmt.Sscan(string(m.Value), &n)
		require.NoError(t, err)
		if prev, ok := last[key]; ok {
			assert.Greater(t, n, prev, "key %s keeps the batch's order", key)
		}
		last[key] = n
	}
	parts := map[int]bool{}
	for _, p := range partOf {
		parts[p] = true
	}
	assert.Greater(t, len(parts), 1, "seven keys spread over more than one partition: one request carried several")
	dead := k.ReadAll(t, dlq, 3, 30*time.Second)
	require.Len(t, dead, 3)
	assert.Equal(t, "dead-5", string(dead[0].Value))
}
