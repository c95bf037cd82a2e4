package broker_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
)

// TestIntegrationHealingWriter breaks every connection the writer has pooled (as a
// broker restart does) and checks that after one failed write the next write dials
// afresh and succeeds, with kafka-go's own retries off.
func TestIntegrationHealingWriter(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 6)
	var (
		mu    sync.Mutex
		conns []*deadConn
		dials atomic.Int32
	)
	w := broker.NewWriter(k.Config(), topic, nil, broker.WriterOptions{MaxAttempts: 1})
	w.Transport.(*kafka.Transport).Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		dc := &deadConn{Conn: c}
		mu.Lock()
		conns = append(conns, dc)
		mu.Unlock()
		return dc, nil
	}
	hw := broker.HealingWriter{Writer: w}
	defer hw.Close()
	ctx := t.Context()
	// Concurrent writes to several partitions leave several pooled connections,
	// as a busy service has.
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			// A partition of a topic created a moment ago may still answer
			// NOT_LEADER (retries are off here), so warm up until each write lands.
			var err error
			for range 100 {
				if err = hw.WriteMessages(ctx, kafka.Message{Key: []byte{byte(i)}, Value: []byte("before")}); err == nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	mu.Lock()
	t.Logf("%d connections pooled", len(conns))

	// The "broker restart": every pooled connection now fails.
	for _, c := range conns {
		c.dead.Store(true)
	}
	mu.Unlock()
	before := dials.Load()
	// With kafka-go's retries off, a plain writer fails once per dead pooled
	// connection it happens to pick; the healing writer fails at most once.
	failures := 0
	for i := range 13 {
		if err := hw.WriteMessages(ctx, kafka.Message{Key: []byte{byte(i)}, Value: []byte("after")}); err != nil {
			failures++
		}
	}
	assert.LessOrEqual(t, failures, 1, "after the first failure the writer dials afresh")
	assert.Greater(t, dials.Load(), before, "it dialled new connections")
}

// deadConn fails every write once dead is set, like a connection to a broker
// process that has gone away.
type deadConn struct {
	net.Conn
	dead atomic.Bool
}

func (c *deadConn) Write(b []byte) (int, error) {
	if c.dead.Load() {
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}
	}
	return c.Conn.Write(b)
}

// TestIntegrationProducer_HealsAfterBrokerRestart is TestIntegrationHealingWriter
// for the Producer: it heals through the same ResetTransport. With several
// pooled connections dead and two attempts per batch, every write after the
// "restart" must still succeed: the first failed attempt drops the pool, the
// second dials afresh (without the reset it would pick the next dead one).
func TestIntegrationProducer_HealsAfterBrokerRestart(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 3)
	var (
		mu    sync.Mutex
		conns []*deadConn
		dials atomic.Int32
	)
	tr := &kafka.Transport{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		dc := &deadConn{Conn: c}
		mu.Lock()
		conns = append(conns, dc)
		mu.Unlock()
		return dc, nil
	}}
	p := broker.NewProducer(k.Config(), topic, broker.ProducerOptions{Transport: tr, MaxAttempts: 2})
	t.Cleanup(func() { _ = p.Close() })
	ctx := t.Context()
	require.NoError(t, p.WriteMessages(ctx, kafka.Message{Key: []byte("warm"), Value: []byte("before")}))
	// Concurrent produce requests on the same transport (a writer sharing it)
	// leave several pooled connections, as a busy gateway has.
	w := broker.NewWriter(k.Config(), topic, nil, broker.WriterOptions{})
	w.Transport = tr
	defer w.Close()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			assert.NoError(t, w.WriteMessages(ctx, kafka.Message{Key: []byte{byte(100 + i)}, Value: []byte("pool")}))
		})
	}
	wg.Wait()
	mu.Lock()
	require.GreaterOrEqual(t, len(conns), 3, "the pool must hold several connections for this test to mean anything")
	for _, c := range conns {
		c.dead.Store(true)
	}
	mu.Unlock()
	before := dials.Load()
	for i := range 13 {
		assert.NoError(t, p.WriteMessages(ctx, kafka.Message{Key: []byte{byte(i)}, Value: []byte("after")}), "write %d", i)
	}
	assert.Greater(t, dials.Load(), before, "it dialled new connections")
	assert.Len(t, k.ReadAll(t, topic, 1+12+13, 30*time.Second), 1+12+13, "every acked record is on the topic")
}
