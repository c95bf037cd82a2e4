package broker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrProducerClosed is returned by WriteMessages after Close.
var ErrProducerClosed = errors.New("producer closed")

// ProducerOptions tunes NewProducer. Zero values take the documented defaults.
type ProducerOptions struct {
	// Transport carries the requests; nil means the transport NewWriter uses
	// (client id from Config, pooled connections). Tests inject fakes or
	// dialers they can cut.
	Transport kafka.RoundTripper
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
	// Linger applies when the producer is busy: after a round that carried
	// more than one call (records arrived while a request was in flight), the
	// next round starts no sooner than Linger after it started and carries
	// everything that arrived meanwhile, so requests per record fall as the
	// rate rises, at a cost of at most Linger of latency. A round that carried
	// one call is followed at once, so at low load it adds nothing. Zero (the
	// default): rounds follow each other as soon as the previous one is
	// answered.
	Linger time.Duration
	// LingerCalls ends a linger early once that many calls are queued (Kafka's
	// batch.size beside linger.ms): with a fixed number of callers each waiting
	// for its ack, what a longer wait would gather cannot come. Default 16.
	LingerCalls int
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
//     our per-request CPU) stays bounded;
//   - with ProducerOptions.Linger, once rounds carry more than one call, they
//     start at least that far apart, which bounds the request rate under load
//     to one per Linger (per broker) without delaying records at low load.
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
// and connection handling as kafka.Writer, without its batching). After a
// round in which something failed with a retriable error it drops the
// transport's pooled connections (ResetTransport, as HealingWriter does), so
// a broker restart costs one attempt, not one per pooled connection.
//
// The gateway uses it for the raw topic, where the ack latency of single
// concurrent writes matters, and the normalizer for the canonical topic, where
// a batch spread over every partition is one request instead of kafka.Writer's
// one per partition; writers of rare records to several topics (dead letters,
// retry tiers) use NewWriter.
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

// NewProducer returns a Producer for topic on cfg.Brokers and starts its
// sender; Close stops it.
func NewProducer(cfg Config, topic string, opts ProducerOptions) *Producer {
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
	if opts.LingerCalls <= 0 {
		opts.LingerCalls = 16
	}
	if opts.Transport == nil {
		opts.Transport = newTransport(cfg)
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: opts.Transport, Timeout: 10 * time.Second}
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
