package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
)

// ErrProducerClosed is returned by WriteMessages after Close.
var ErrProducerClosed = errors.New("producer closed")

// RecordError is a record-level error of a produce response (KIP-467): the
// broker refused one record of the batch, not the request.
type RecordError struct {
	// Index is the record's position in the partition's batch.
	Index int32
	// Message is the broker's explanation.
	Message string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("record %d rejected: %s", e.Index, e.Message)
}

// RecordRejected reports whether err means Kafka refuses the records themselves
// for good (too large, invalid, corrupt, or a record-level error), so sending
// the same bytes again can never succeed. Errors about the broker, the topic,
// authorization or time (broker down, unknown topic, timeouts) are not: they
// may pass, and the caller keeps retrying them.
func RecordRejected(err error) bool {
	var rerr *RecordError
	if errors.As(err, &rerr) {
		return true
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		switch kerr {
		case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge, kafka.InvalidRecord, kafka.InvalidMessage:
			return true
		}
	}
	return false
}

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
	// MaxAttempts is how often a batch is tried when the broker answers with a
	// retriable error (leader moved, not enough replicas) or the connection
	// broke. Default 3.
	MaxAttempts int
	// Observe, if set, is called after each produce request with its record
	// count, duration and result (metrics).
	Observe func(records int, took time.Duration, err error)
}

// Producer writes records to one topic with acks=all, one produce request in
// flight per broker, and batching that adapts to the load without a linger
// timer, the way the Java producer's sender thread drains every ready
// partition of a broker into one request:
//
//   - a record that arrives while nothing is in flight is sent at once, so an
//     ack at low load costs one produce round trip (kafka-go's Writer first
//     waits its BatchTimeout, then sends each timer-cut batch of each partition
//     as its own request, one at a time per partition);
//   - records that arrive while a request is in flight go together, for all
//     partitions, into the next request, so under load batches grow to what
//     arrived during one round trip while the request rate (the broker's and
//     our per-request CPU) stays bounded.
//
// This is group commit, as the spool does for fsync. Keys are partitioned with
// kafka-go's Murmur2Balancer, as the Java client does. Sending works in rounds:
// a round takes what is queued on every partition, sends one request per
// partition leader (in parallel when there are several), and waits for all
// answers before the next round. So a partition never has two requests in
// flight, records of one partition go out in the order WriteMessages queued
// them, and a retried batch goes back to the front of its partition's queue:
// records written by sequential calls (the forwarder) keep their order. When a
// batch fails for good, the calls queued behind it on that partition fail too.
//
// It is built on kafka-go's Transport and protocol packages (the same library
// and connection handling as kafka.Writer, without its batching).
type Producer struct {
	client *kafka.Client
	topic  string
	opts   ProducerOptions
	bal    kafka.Murmur2Balancer

	enq    sync.RWMutex // WriteMessages enqueues under R; Close sets closed under W
	closed bool

	mu      sync.Mutex // guards the partition layout below
	parts   []*partitionQueue
	ids     []int   // 0..len(parts)-1, the balancer's partition list
	leaders []int32 // leader broker id per partition
	metaAt  time.Time

	refreshing atomic.Bool
	kick       chan struct{} // buffered 1: something was queued
	stop       chan struct{}
	stopped    chan struct{}
}

// NewProducer returns a Producer for topic on the brokers behind client
// (Addr: bootstrap brokers; Transport: connection pooling and leader routing)
// and starts its sender; Close stops it.
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
	if client.Transport == nil {
		client.Transport = kafka.DefaultTransport
	}
	p := &Producer{client: client, topic: topic, opts: opts,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go p.run()
	return p
}

// call is one WriteMessages call's share of one partition.
type call struct {
	msgs     []kafka.Message
	bytes    int64
	at       time.Time // record timestamp for messages without one
	attempts int
	done     chan error // buffered 1: the sender never blocks on a caller
}

type partitionQueue struct {
	id      int
	mu      sync.Mutex
	pending []*call
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
	p.enq.RLock()
	if p.closed {
		p.enq.RUnlock()
		return ErrProducerClosed
	}
	if len(msgs) == 1 {
		c := newCall(msgs[:1], now)
		calls = []*call{c}
		parts[p.bal.Balance(msgs[0], ids...)].push(c)
	} else {
		// Per partition, in the original order; a share larger than
		// MaxBatchBytes is split into consecutive calls (one request each).
		byPart := map[int][]kafka.Message{}
		for _, m := range msgs {
			pid := p.bal.Balance(m, ids...)
			byPart[pid] = append(byPart[pid], m)
		}
		for pid, ms := range byPart {
			for len(ms) > 0 {
				n, size := 0, int64(0)
				for n < len(ms) && (n == 0 || size+msgBytes(ms[n]) <= p.opts.MaxBatchBytes) {
					size += msgBytes(ms[n])
					n++
				}
				c := newCall(ms[:n], now)
				calls = append(calls, c)
				parts[pid].push(c)
				ms = ms[n:]
			}
		}
	}
	p.enq.RUnlock()
	select {
	case p.kick <- struct{}{}:
	default:
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
	c := &call{msgs: msgs, at: now, done: make(chan error, 1)}
	for _, m := range msgs {
		c.bytes += msgBytes(m)
	}
	return c
}

func (q *partitionQueue) push(c *call) {
	q.mu.Lock()
	q.pending = append(q.pending, c)
	q.mu.Unlock()
}

// requeue puts calls back at the front, ahead of everything queued since.
func (q *partitionQueue) requeue(calls []*call) {
	q.mu.Lock()
	q.pending = append(calls, q.pending...)
	q.mu.Unlock()
}

// drain removes and returns every pending call.
func (q *partitionQueue) drain() []*call {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.pending
	q.pending = nil
	return out
}

// take removes the calls that fit in one request (at least one, if any).
func (q *partitionQueue) take(maxBytes int64) []*call {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil
	}
	n, size := 0, int64(0)
	for n < len(q.pending) && (n == 0 || size+q.pending[n].bytes <= maxBytes) {
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

// run is the sender: one round at a time, each carrying everything that
// queued up meanwhile. On Close it sends what is queued, then returns.
func (p *Producer) run() {
	defer close(p.stopped)
	for {
		select {
		case <-p.kick:
		case <-p.stop:
			for p.round() {
			}
			return
		}
		for p.round() {
		}
	}
}

// share is one partition's part of a produce request.
type share struct {
	q     *partitionQueue
	calls []*call
}

// round sends what is queued, one request per leader, and reports whether
// there was anything.
func (p *Producer) round() bool {
	p.mu.Lock()
	parts, leaders := p.parts, p.leaders
	p.mu.Unlock()
	var groups map[int32][]share
	for _, q := range parts {
		calls := q.take(p.opts.MaxBatchBytes)
		if len(calls) == 0 {
			continue
		}
		if groups == nil {
			groups = map[int32][]share{}
		}
		groups[leaders[q.id]] = append(groups[leaders[q.id]], share{q: q, calls: calls})
	}
	if len(groups) == 0 {
		return false
	}
	retry := false
	if len(groups) == 1 {
		for _, g := range groups {
			retry = p.send(g)
		}
	} else {
		var wg sync.WaitGroup
		var requeued atomic.Bool
		for _, g := range groups {
			wg.Go(func() {
				if p.send(g) {
					requeued.Store(true)
				}
			})
		}
		wg.Wait()
		retry = requeued.Load()
	}
	if retry {
		// Something was requeued after a retriable error (leader moved, broker
		// connection lost): refresh the layout and pause briefly before the
		// next round, as kafka-go's Writer backs off between attempts.
		p.refreshAsync()
		// After a broker restart the transport may still pool several connections
		// to the old process; drop them all rather than fail once per connection.
		if t, ok := p.client.Transport.(*kafka.Transport); ok {
			t.CloseIdleConnections()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// send writes one request with the shares of one leader and completes or
// requeues their calls. It reports whether anything was requeued.
func (p *Producer) send(group []share) (requeued bool) {
	start := time.Now()
	records := 0
	req := &produceAPI.Request{Acks: int16(kafka.RequireAll)}
	tp := produceAPI.RequestTopic{Topic: p.topic, Partitions: make([]produceAPI.RequestPartition, 0, len(group))}
	for _, sh := range group {
		n := 0
		for _, c := range sh.calls {
			n += len(c.msgs)
		}
		recs := make([]kafka.Record, 0, n)
		for _, c := range sh.calls {
			for _, m := range c.msgs {
				t := m.Time
				if t.IsZero() {
					t = c.at
				}
				recs = append(recs, kafka.Record{Time: t, Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value), Headers: m.Headers})
			}
		}
		records += n
		tp.Partitions = append(tp.Partitions, produceAPI.RequestPartition{
			Partition: int32(sh.q.id),
			RecordSet: protocol.RecordSet{Attributes: protocol.Attributes(p.opts.Compression) & 7, Records: kafka.NewRecordReader(recs...)},
		})
	}
	req.Topics = []produceAPI.RequestTopic{tp}
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.WriteTimeout)
	defer cancel()
	req.Timeout = int32(p.opts.WriteTimeout / time.Millisecond)

	errs := make(map[int32]error, len(group))
	res, err := p.client.Transport.RoundTrip(ctx, p.client.Addr, req)
	if err == nil {
		r, ok := res.(*produceAPI.Response)
		if !ok {
			err = fmt.Errorf("unexpected produce response %T", res)
		} else {
			for _, t := range r.Topics {
				for _, rp := range t.Partitions {
					if rp.ErrorCode != 0 {
						errs[rp.Partition] = kafka.Error(rp.ErrorCode)
					} else if len(rp.RecordErrors) > 0 {
						errs[rp.Partition] = &RecordError{Index: rp.RecordErrors[0].BatchIndex, Message: rp.RecordErrors[0].BatchIndexErrorMessage}
					}
				}
			}
		}
	}
	if p.opts.Observe != nil {
		p.opts.Observe(records, time.Since(start), err)
	}
	for _, sh := range group {
		perr := err
		if perr == nil {
			perr = errs[int32(sh.q.id)]
		}
		if perr == nil {
			for _, c := range sh.calls {
				c.done <- nil
			}
			continue
		}
		if retriable(perr) && sh.calls[0].attempts+1 < p.opts.MaxAttempts {
			for _, c := range sh.calls {
				c.attempts++
			}
			sh.q.requeue(sh.calls)
			requeued = true
			continue
		}
		// Everything queued behind the failed calls fails with them: sent later,
		// it would be acked before the failed records' retry (their caller
		// re-sends or spools them) and reorder the partition.
		werr := fmt.Errorf("producing to %s/%d: %w", p.topic, sh.q.id, perr)
		for _, c := range append(sh.calls, sh.q.drain()...) {
			c.done <- werr
		}
	}
	return requeued
}

// retriable reports errors worth another attempt: Kafka's retriable error
// codes (leader moved, not enough replicas, ...) and lost or refused
// connections (the transport reconnects on the next attempt).
func retriable(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED)
}

// partitions returns the partition queues, reading the topic's layout from the
// broker on first use and refreshing it in the
// background every MetadataTTL (new partitions get a queue; the count never
// shrinks).
func (p *Producer) partitions(ctx context.Context) ([]*partitionQueue, []int, error) {
	p.mu.Lock()
	parts, ids, at := p.parts, p.ids, p.metaAt
	p.mu.Unlock()
	if len(parts) == 0 {
		if err := p.refresh(ctx); err != nil {
			return nil, nil, err
		}
		p.mu.Lock()
		parts, ids = p.parts, p.ids
		p.mu.Unlock()
		return parts, ids, nil
	}
	if time.Since(at) > p.opts.MetadataTTL {
		p.refreshAsync()
	}
	return parts, ids, nil
}

func (p *Producer) refreshAsync() {
	if !p.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer p.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), p.opts.WriteTimeout)
		defer cancel()
		_ = p.refresh(ctx) // on failure the known layout stays in use
	}()
}

func (p *Producer) refresh(ctx context.Context) error {
	md, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{p.topic}})
	if err != nil {
		return fmt.Errorf("reading metadata of %s: %w", p.topic, err)
	}
	var found *kafka.Topic
	for i := range md.Topics {
		if md.Topics[i].Name == p.topic {
			found = &md.Topics[i]
		}
	}
	if found == nil || len(found.Partitions) == 0 {
		return fmt.Errorf("reading metadata of %s: %w", p.topic, kafka.UnknownTopicOrPartition)
	}
	if found.Error != nil {
		return fmt.Errorf("reading metadata of %s: %w", p.topic, found.Error)
	}
	n := 0
	for _, mp := range found.Partitions {
		n = max(n, mp.ID+1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n = max(n, len(p.parts))
	parts := make([]*partitionQueue, n)
	copy(parts, p.parts)
	leaders := make([]int32, n)
	copy(leaders, p.leaders)
	for i := len(p.parts); i < n; i++ {
		parts[i] = &partitionQueue{id: i}
	}
	for _, mp := range found.Partitions {
		leaders[mp.ID] = int32(mp.Leader.ID)
	}
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	p.parts, p.ids, p.leaders, p.metaAt = parts, ids, leaders, time.Now()
	return nil
}

// Close sends what is queued, waits for the answers, and stops the sender.
// Calls after Close fail with ErrProducerClosed.
func (p *Producer) Close() error {
	p.enq.Lock()
	if p.closed {
		p.enq.Unlock()
		return nil
	}
	p.closed = true
	p.enq.Unlock()
	close(p.stop)
	<-p.stopped
	return nil
}

func msgBytes(m kafka.Message) int64 {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}
