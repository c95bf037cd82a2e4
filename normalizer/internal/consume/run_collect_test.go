package consume

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func collectConsumer(linger time.Duration) *Consumer {
	return &Consumer{cfg: Config{BatchSize: 10, Linger: linger}, log: zap.NewNop(), m: NewMetrics(nil), now: time.Now}
}

// TestCollectIdleGoesAtOnce checks a batch does not linger when no batch is being
// handled: with an hour's linger, the queued records go at once.
func TestCollectIdleGoesAtOnce(t *testing.T) {
	c := collectConsumer(time.Hour)
	msgs := make(chan kafka.Message, 10)
	msgs <- kafka.Message{Offset: 1}
	msgs <- kafka.Message{Offset: 2}
	began := time.Now()
	got, err := c.collect(t.Context(), msgs, nil, newHandling())
	require.NoError(t, err)
	assert.Len(t, got, 2, "everything already fetched")
	assert.Less(t, time.Since(began), time.Second)
}

// TestCollectLingersWhileBusy checks a batch keeps gathering while the batch
// before is being handled, and goes as soon as that one finishes.
func TestCollectLingersWhileBusy(t *testing.T) {
	c := collectConsumer(time.Hour)
	h := newHandling()
	h.finish() // a token from an earlier batch must not cut the wait short
	h.start()
	msgs := make(chan kafka.Message, 10)
	msgs <- kafka.Message{Offset: 1}
	type result struct {
		got []kafka.Message
		err error
	}
	res := make(chan result, 1)
	go func() {
		got, err := c.collect(t.Context(), msgs, nil, h)
		res <- result{got, err}
	}()
	time.Sleep(50 * time.Millisecond)
	msgs <- kafka.Message{Offset: 2}
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-res:
		t.Fatalf("returned %d records while the batch before was in flight", len(r.got))
	default:
	}
	h.finish()
	select {
	case r := <-res:
		require.NoError(t, r.err)
		assert.Len(t, r.got, 2, "the records that arrived while waiting")
	case <-time.After(5 * time.Second):
		t.Fatal("collect kept waiting after the batch before finished")
	}
}

// TestCollectLingerCapsTheWait checks Linger, counted from the first record,
// bounds the wait while a batch is in flight, and a full batch goes at once.
func TestCollectLingerCapsTheWait(t *testing.T) {
	c := collectConsumer(30 * time.Millisecond)
	h := newHandling()
	h.start()
	msgs := make(chan kafka.Message, 20)
	msgs <- kafka.Message{Offset: 1}
	began := time.Now()
	got, err := c.collect(t.Context(), msgs, nil, h)
	require.NoError(t, err)
	assert.Len(t, got, 1)
	assert.GreaterOrEqual(t, time.Since(began), 30*time.Millisecond)

	for i := range 15 {
		msgs <- kafka.Message{Offset: int64(i)}
	}
	got, err = c.collect(t.Context(), msgs, nil, h)
	require.NoError(t, err)
	assert.Len(t, got, 10, "BatchSize caps a batch")
}
