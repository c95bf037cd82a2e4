package broker_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
)

// failingTransport is a one-broker, one-partition fake: every produce request
// carrying a value in fail is answered with a retriable error, the rest are
// acked and their values recorded.
type failingTransport struct {
	topic string
	fail  map[string]bool

	mu    sync.Mutex
	acked []string
}

func (f *failingTransport) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	return fakeProduce(f.topic, req, func(values []string) kafka.Error {
		for _, v := range values {
			if f.fail[v] {
				return kafka.NotLeaderForPartition
			}
		}
		f.mu.Lock()
		f.acked = append(f.acked, values...)
		f.mu.Unlock()
		return 0
	})
}

// A record queued behind one that finally failed must not be acked before it:
// the failed record's caller retries (or spools) it, so it would land after
// the later one and reorder the partition. Here the forwarder-style batch is
// split into one request per record; the first exhausts its attempts.
func TestProducer_FailedRecordIsNotOvertakenByLaterOnes(t *testing.T) {
	ft := &failingTransport{topic: "t", fail: map[string]bool{"1": true}}
	p := broker.NewProducer(broker.Config{Brokers: []string{"fake:9092"}}, "t",
		broker.ProducerOptions{Transport: ft, MaxBatchBytes: 1, MaxAttempts: 2})
	t.Cleanup(func() { _ = p.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	err := p.WriteMessages(ctx,
		kafka.Message{Key: []byte("k"), Value: []byte("1")},
		kafka.Message{Key: []byte("k"), Value: []byte("2")},
		kafka.Message{Key: []byte("k"), Value: []byte("3")})
	require.Error(t, err)
	require.NoError(t, p.Close())
	ft.mu.Lock()
	defer ft.mu.Unlock()
	require.Empty(t, ft.acked, "records acked after an earlier record of their partition failed")
}

// requestLog is a one-broker, one-partition fake that acks every produce
// request and records the values each one carried and when it arrived. While
// hold is set, the first produce request waits for it to be closed.
type requestLog struct {
	topic   string
	hold    chan struct{}
	arrived chan struct{} // closed when the first produce request arrived
	mu      sync.Mutex
	reqs    [][]string
	at      []time.Time
}

func (f *requestLog) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	var values []string
	res, err := fakeProduce(f.topic, req, func(v []string) kafka.Error {
		values = append(values, v...)
		return 0
	})
	if _, ok := req.(*produceAPI.Request); !ok || err != nil {
		return res, err
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, values)
	f.at = append(f.at, time.Now())
	first := len(f.reqs) == 1
	f.mu.Unlock()
	if first && f.hold != nil {
		close(f.arrived)
		<-f.hold
	}
	return res, nil
}

// With Linger, a busy producer (a round carried more than one call, because
// records arrived while a request was in flight) starts its next round no
// sooner than Linger after that round started; after a round of one call the
// next goes at once, so at low load nothing waits.
func TestProducer_LingerOnlyWhenBusy(t *testing.T) {
	const linger = 300 * time.Millisecond
	fl := &requestLog{topic: "t", hold: make(chan struct{}), arrived: make(chan struct{})}
	p := broker.NewProducer(broker.Config{Brokers: []string{"fake:9092"}}, "t",
		broker.ProducerOptions{Transport: fl, Linger: linger})
	t.Cleanup(func() { _ = p.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	write := func(v string) error { return p.WriteMessages(ctx, kafka.Message{Value: []byte(v)}) }

	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, write("a")) })
	<-fl.arrived // a's request is in flight and held
	for _, v := range []string{"b", "c"} {
		wg.Go(func() { require.NoError(t, write(v)) })
	}
	time.Sleep(100 * time.Millisecond) // b and c queue behind the held request
	close(fl.hold)
	wg.Wait()
	require.NoError(t, write("d")) // after a round of two calls: waits for the linger
	time.Sleep(2 * linger)
	start := time.Now()
	require.NoError(t, write("e")) // after a round of one call and a quiet spell: at once
	eTook := time.Since(start)
	start = time.Now()
	require.NoError(t, write("f")) // right after a round of one call: at once
	fTook := time.Since(start)

	fl.mu.Lock()
	defer fl.mu.Unlock()
	require.Len(t, fl.reqs, 5)
	require.Equal(t, []string{"a"}, fl.reqs[0])
	require.ElementsMatch(t, []string{"b", "c"}, fl.reqs[1], "b and c arrived while a was in flight: one request")
	require.Equal(t, [][]string{{"d"}, {"e"}, {"f"}}, fl.reqs[2:])
	require.GreaterOrEqual(t, fl.at[2].Sub(fl.at[1]), linger-20*time.Millisecond, "d waited for the linger after the busy round")
	require.Less(t, eTook, linger/2, "a record after a quiet spell does not wait")
	require.Less(t, fTook, linger/2, "after a round of one call the next does not wait")
}

// A linger ends early once LingerCalls calls are queued.
func TestProducer_LingerEndsWhenEnoughQueued(t *testing.T) {
	const linger = 5 * time.Second
	fl := &requestLog{topic: "t", hold: make(chan struct{}), arrived: make(chan struct{})}
	p := broker.NewProducer(broker.Config{Brokers: []string{"fake:9092"}}, "t",
		broker.ProducerOptions{Transport: fl, Linger: linger, LingerCalls: 3})
	t.Cleanup(func() { _ = p.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	write := func(v string) { require.NoError(t, p.WriteMessages(ctx, kafka.Message{Value: []byte(v)})) }

	var wg sync.WaitGroup
	wg.Go(func() { write("a") })
	<-fl.arrived
	for _, v := range []string{"b", "c"} {
		wg.Go(func() { write(v) })
	}
	time.Sleep(100 * time.Millisecond)
	close(fl.hold)
	wg.Wait() // [a], then the busy round [b c]: the next one lingers
	start := time.Now()
	for _, v := range []string{"x", "y", "z"} {
		wg.Go(func() { write(v) })
	}
	wg.Wait()
	require.Less(t, time.Since(start), linger/2, "three queued calls end the linger")
	fl.mu.Lock()
	defer fl.mu.Unlock()
	require.Len(t, fl.reqs, 3)
	require.ElementsMatch(t, []string{"x", "y", "z"}, fl.reqs[2])
}
