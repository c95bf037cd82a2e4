package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrProducerClosed is returned by WriteMessages after Close.
var ErrProducerClosed = errors.New("producer closed")

// ProducerOptions tunes NewProducer. Zero values take the documented defaults.
type ProducerOptions struct {
	// Compression codec for each produce request; 0 means none.
	Compression kafka.Compression
	// MaxBatchBytes caps the records (key+value+headers) sent in one produce
	// request; whatever is left waits for the next one. Default 1 MiB, the
	// broker's default message.max.bytes.
	MaxBatchBytes int64
	// WriteTimeout bounds one produce request (a caller stops waiting at its own
	// deadline earlier). Default 10 s.
	WriteTimeout time.Duration
	// MetadataTTL is how long the topic's partition count is cached. Default 15 s.
	MetadataTTL time.Duration
	// MaxAttempts is how often a produce request is tried when the broker answers
	// with a retriable error (leader moved, not enough replicas). Default 3.
	MaxAttempts int
}

// Producer writes records to one topic with acks=all, at most one produce
// request in flight per partition, and batching that adapts to the load
// without a linger timer:
//
//   - a record for an idle partition is sent at once, so an ack at low load
//     costs one produce round trip (kafka-go's Writer would first wait its
//     BatchTimeout, and then send each timer-cut batch as its own request);
//   - records that arrive while their partition's request is in flight are
//     sent together in the next request, so under load batches grow to what
//     arrived during one round trip and the request rate stays bounded.
//
// This is group commit, as the spool does for fsync. Keys are partitioned with
// kafka-go's Murmur2Balancer, as the Java client does. Records of one partition
// are sent in the order WriteMessages queued them, and a record is only sent
// after every earlier request of its partition finished, so records written by
// sequential calls (the forwarder) keep their order.
//
// It is built on kafka-go's Client (Produce, Metadata) and Transport: the same
// library and connection handling as kafka.Writer, without its batching.
type Producer struct {
	client *kafka.Client
	topic  string
	opts   ProducerOptions
	bal    kafka.Murmur2Balancer

	mu     sync.Mutex // guards parts, ids, metaAt, closed
	parts  []*partitionQueue
	ids    []int // 0..len(parts)-1, the balancer's partition list
	metaAt time.Time
	closed bool

	refreshing atomic.Bool
	wg         sync.WaitGroup
}

// NewProducer returns a Producer for topic on the brokers behind client. The
// client's Transport does connection pooling and leader routing.
func NewProducer(client *kafka.Client, topic string, opts ProducerOptions) *Producer {
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = 1 << 20
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MetadataTTL <= 0 {
		opts.MetadataTTL = 15 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	return &Producer{client: client, topic: topic, opts: opts}
}

// call is one WriteMessages call's share of one partition.
type call struct {
	msgs  []kafka.Message
	bytes int64
	at    time.Time  // record timestamp for messages without one
	done  chan error // buffered 1: the partition loop never blocks on a caller
}

type partitionQueue struct {
	id      int
	mu      sync.Mutex
	pending []*call
	closed  bool          // set by the loop once it stopped; later calls fail
	kick    chan struct{} // buffered 1
	stop    chan struct{}
}

// WriteMessages sends msgs and returns nil once Kafka acknowledged all of them
// (acks=all). On error, or when ctx ends first, none of them should be assumed
// written; some may still land later (at-least-once).
func (p *Producer) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	parts, ids, err := p.partitions(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	var calls []*call
	if len(msgs) == 1 {
		c := newCall(msgs[:1], now)
		calls = []*call{c}
		parts[p.bal.Balance(msgs[0], ids...)].enqueue(c)
	} else {
		// One call per partition touched, messages in their original order.
		byPart := map[int][]kafka.Message{}
		for _, m := range msgs {
			pid := p.bal.Balance(m, ids...)
			byPart[pid] = append(byPart[pid], m)
		}
		for pid, ms := range byPart {
			c := newCall(ms, now)
			calls = append(calls, c)
			parts[pid].enqueue(c)
		}
	}
	var firstErr error
	for _, c := range calls {
		select {
		case err := <-c.done:
			if err != nil && firstErr == nil {
				firstErr = err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return firstErr
}

func newCall(msgs []kafka.Message, now time.Time) *call {
	c := &call{msgs: msgs, done: make(chan error, 1)}
	for _, m := range msgs {
		c.bytes += msgBytes(m)
	}
	c.at = now
	return c
}

func (q *partitionQueue) enqueue(c *call) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		c.done <- ErrProducerClosed
		return
	}
	q.pending = append(q.pending, c)
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// take removes the calls that fit in one request (at least one).
func (q *partitionQueue) take(maxBytes int64) []*call {
	q.mu.Lock()
	defer q.mu.Unlock()
	var n int
	var size int64
	for n < len(q.pending) {
		if n > 0 && size+q.pending[n].bytes > maxBytes {
			break
		}
		size += q.pending[n].bytes
		n++
	}
	out := make([]*call, n)
	copy(out, q.pending[:n])
	rest := copy(q.pending, q.pending[n:])
	clear(q.pending[rest:])
	q.pending = q.pending[:rest]
	return out
}

// run is the partition's loop: one produce request at a time, each carrying
// everything that queued up meanwhile.
func (p *Producer) run(q *partitionQueue) {
	defer p.wg.Done()
	for {
		select {
		case <-q.kick:
		case <-q.stop:
			// Close: send what is queued; calls racing with Close fail.
			for calls := q.take(p.opts.MaxBatchBytes); len(calls) > 0; calls = q.take(p.opts.MaxBatchBytes) {
				p.flush(q.id, calls)
			}
			q.mu.Lock()
			q.closed = true
			late := q.pending
			q.pending = nil
			q.mu.Unlock()
			for _, c := range late {
				c.done <- ErrProducerClosed
			}
			return
		}
		for calls := q.take(p.opts.MaxBatchBytes); len(calls) > 0; calls = q.take(p.opts.MaxBatchBytes) {
			p.flush(q.id, calls)
		}
	}
}

func (p *Producer) flush(partition int, calls []*call) {
	n := 0
	for _, c := range calls {
		n += len(c.msgs)
	}
	recs := make([]kafka.Record, 0, n)
	for _, c := range calls {
		for _, m := range c.msgs {
			t := m.Time
			if t.IsZero() {
				t = c.at
			}
			recs = append(recs, kafka.Record{Time: t, Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value), Headers: m.Headers})
		}
	}
	err := p.produce(partition, recs)
	for _, c := range calls {
		c.done <- err
	}
}

func (p *Producer) produce(partition int, recs []kafka.Record) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.WriteTimeout)
	defer cancel()
	var err error
	for attempt := range p.opts.MaxAttempts {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * 50 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("producing to %s/%d: %w (after %w)", p.topic, partition, ctx.Err(), err)
			case <-t.C:
			}
		}
		var res *kafka.ProduceResponse
		res, err = p.client.Produce(ctx, &kafka.ProduceRequest{
			Topic:        p.topic,
			Partition:    partition,
			RequiredAcks: kafka.RequireAll,
			Compression:  p.opts.Compression,
			// Records are read once per attempt; a fresh reader each time.
			Records: kafka.NewRecordReader(recs...),
		})
		if err == nil && res != nil {
			err = res.Error
			if err == nil && len(res.RecordErrors) > 0 {
				for _, rerr := range res.RecordErrors {
					err = rerr
					break
				}
			}
		}
		if err == nil {
			return nil
		}
		var kerr kafka.Error
		if !errors.As(err, &kerr) || !kerr.Temporary() {
			break
		}
	}
	return fmt.Errorf("producing to %s/%d: %w", p.topic, partition, err)
}

// partitions returns the partition queues, reading the topic's partition
// count from the broker on first use and refreshing it in the background
// every MetadataTTL (new partitions get a queue; the count never shrinks).
func (p *Producer) partitions(ctx context.Context) ([]*partitionQueue, []int, error) {
	p.mu.Lock()
	parts, ids, at, closed := p.parts, p.ids, p.metaAt, p.closed
	p.mu.Unlock()
	if closed {
		return nil, nil, ErrProducerClosed
	}
	if len(parts) == 0 {
		if err := p.refresh(ctx); err != nil {
			return nil, nil, err
		}
		p.mu.Lock()
		parts, ids = p.parts, p.ids
		p.mu.Unlock()
		return parts, ids, nil
	}
	if time.Since(at) > p.opts.MetadataTTL && p.refreshing.CompareAndSwap(false, true) {
		go func() {
			defer p.refreshing.Store(false)
			rctx, cancel := context.WithTimeout(context.Background(), p.opts.WriteTimeout)
			defer cancel()
			_ = p.refresh(rctx) // on failure the known partitions stay in use
		}()
	}
	return parts, ids, nil
}

func (p *Producer) refresh(ctx context.Context) error {
	md, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{p.topic}})
	if err != nil {
		return fmt.Errorf("reading metadata of %s: %w", p.topic, err)
	}
	n := 0
	for _, t := range md.Topics {
		if t.Name != p.topic {
			continue
		}
		if t.Error != nil {
			return fmt.Errorf("reading metadata of %s: %w", p.topic, t.Error)
		}
		n = len(t.Partitions)
	}
	if n == 0 {
		return fmt.Errorf("reading metadata of %s: %w", p.topic, kafka.UnknownTopicOrPartition)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrProducerClosed
	}
	p.metaAt = time.Now()
	if n <= len(p.parts) {
		return nil
	}
	parts := make([]*partitionQueue, n)
	copy(parts, p.parts)
	for i := len(p.parts); i < n; i++ {
		parts[i] = &partitionQueue{id: i, kick: make(chan struct{}, 1), stop: make(chan struct{})}
		p.wg.Add(1)
		go p.run(parts[i])
	}
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	p.parts, p.ids = parts, ids
	return nil
}

// Close sends what is queued, waits for it, and stops the partition loops.
// Calls after Close fail with ErrProducerClosed.
func (p *Producer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	parts := p.parts
	p.mu.Unlock()
	for _, q := range parts {
		close(q.stop)
	}
	p.wg.Wait()
	return nil
}

func msgBytes(m kafka.Message) int64 {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}
