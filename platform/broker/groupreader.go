package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// ErrNoGeneration is returned by GroupReader.CommitMessages while the reader is
// between two group generations (joining, rebalancing, or the coordinator is
// unreachable). Nothing was committed; the caller may retry later.
var ErrNoGeneration = errors.New("no active consumer-group generation")

// DefaultGroupMaxWait is NewGroupReader's default GroupReaderOptions.MaxWait:
// an idle reader costs one fetch request per second per leader broker.
const DefaultGroupMaxWait = time.Second

// GroupReaderOptions tunes NewGroupReader. Zero values take the defaults
// documented per field.
type GroupReaderOptions struct {
	// MaxWait is how long the broker holds a fetch that finds no record (MinBytes
	// is 1, so it answers as soon as one arrives: it costs no latency). It sets
	// the idle cost: one fetch request per leader broker per MaxWait, whatever
	// the number of partitions. Unlike kafka.Reader, the client waits for the
	// answer MaxWait plus 10 s, so a late answer on a busy host does not drop
	// the connection. Close and the end of a generation cancel a held fetch
	// rather than wait for it, so a long MaxWait costs only how soon an idle
	// reader notices a broker gone. Default 1 s (DefaultGroupMaxWait).
	MaxWait time.Duration
	// Linger is how long the reader waits, after a fetch that brought records,
	// before it sends the next one. Under load each fetch then carries what
	// arrived in that time instead of returning at the first record (MinBytes
	// 1), and the broker's cost is per request; the caller's batches, and its
	// produce requests, grow the same way. The wait is on the client, not a
	// broker-held fetch (MinBytes > 1), so the broker keeps no delayed fetch to
	// re-check on every append. After an empty answer there is no wait, so the
	// first record after a quiet spell is not delayed, and none after an answer
	// that left records behind (a partition's high watermark past what it
	// brought: a backlog is drained fetch after fetch); Linger bounds the
	// latency it adds. Zero (the default) turns it off.
	Linger time.Duration
	// MaxBytes bounds one fetch response (all partitions). Default 4 MiB. The
	// answer is read into one buffer its fetch loop reuses, and each record
	// batch is copied out once (decompressed), so a reader holds about MaxBytes
	// per leader broker plus the records waiting in its queue (see fetchConn;
	// kafka-go's transport held at least one 64 KiB page per record batch).
	MaxBytes int
	// PartitionMaxBytes bounds one partition's share of a fetch response (the
	// broker still returns a first record batch larger than this). Default 512 KiB.
	PartitionMaxBytes int
	// QueueBatches is how many fetched partition batches may wait for
	// FetchMessage before the fetch loops stop fetching (backpressure). Memory
	// held is at most about QueueBatches × PartitionMaxBytes. Default 8.
	QueueBatches int
	// StartAtLatest starts partitions without a committed offset at the end
	// instead of the beginning, and is where an out-of-range offset resets to.
	// Default false: a new group reads everything retained.
	StartAtLatest bool
	// SessionTimeout is how long the group coordinator waits for heartbeats
	// before it gives a dead member's partitions to the others. Default 10 s
	// (heartbeats every 3 s; the broker's minimum is 6 s).
	SessionTimeout time.Duration
	// PartitionWatch is how often the group's leader member reads the topics'
	// partition counts (one Metadata request) to rebalance when partitions are
	// added. Partitions are added rarely and by hand, and each group polls on
	// its own: kafka-go's 5 s default is a steady request rate for nothing.
	// Default 30 s.
	PartitionWatch time.Duration
}

func (o *GroupReaderOptions) setDefaults() {
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultGroupMaxWait
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 4 << 20
	}
	if o.PartitionMaxBytes <= 0 {
		o.PartitionMaxBytes = 512 << 10
	}
	if o.QueueBatches <= 0 {
		o.QueueBatches = 8
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 10 * time.Second
	}
	if o.PartitionWatch <= 0 {
		o.PartitionWatch = 30 * time.Second
	}
}

// GroupReaderStats are a GroupReader's cumulative readerCounters since it was built
// (unlike kafka.Reader.Stats, reading them resets nothing).
type GroupReaderStats struct {
	// Fetches counts fetch requests sent (one covers every partition the reader
	// owns on one broker); FetchErrors those that failed without a response.
	Fetches, FetchErrors int64
	// EmptyFetches counts fetch responses that brought no new record.
	EmptyFetches int64
	// Records counts records fetched and queued for FetchMessage.
	Records int64
	// Generations counts group generations joined; Regroups the times the fetch
	// loops were rebuilt within one (leader moved, broker unreachable).
	Generations, Regroups int64
	// OffsetResets counts partitions whose fetch offset was out of range and
	// was reset to the start policy.
	OffsetResets int64
	// CommitsDropped counts partitions left out of a commit because this member
	// no longer owned them (see CommitMessages).
	CommitsDropped int64
	// Sessions counts incremental fetch sessions the broker opened (one per
	// fetch loop: per leader broker and generation); SessionResets those it no
	// longer knew (evicted, restarted) or whose epoch it refused, each of which
	// cost one full fetch.
	Sessions, SessionResets int64
	// Partitions is the number of partitions assigned in the current
	// generation (0 between generations).
	Partitions int64
}

type readerCounters struct {
	fetches, fetchErrors, emptyFetches, records     atomic.Int64
	generations, regroups, offsetResets, commitDrop atomic.Int64
	partitions, sessions, sessionResets             atomic.Int64
}

// GroupReader consumes topics as a member of a consumer group, like a
// *kafka.Reader with a GroupID, but with one fetch request per leader broker
// covering all of its assigned partitions, where kafka.Reader runs one
// goroutine and one fetch stream per partition (issue 14: the broker's cost
// of an idle or lightly loaded consumer grows with the partition count).
//
// Contract, as callers of *kafka.Reader rely on it:
//   - FetchMessage returns records in offset order per partition and never
//     commits. It is safe for concurrent use, though one fetching goroutine is
//     the intended use.
//   - CommitMessages commits, per partition, the offset after the last message
//     given. It commits nothing else.
//   - Close leaves the group and stops every goroutine; FetchMessage then
//     returns io.EOF.
//
// Generations: a record fetched in one generation is handed out only while that
// generation is current. When a generation ends, whatever it fetched and
// FetchMessage has not returned yet is dropped; the next generation fetches
// again from the group's committed offsets, so such records are redelivered
// (to this member or to the partition's new owner), never lost. No record of
// an old generation is returned once the fetch loops of a new one started.
type GroupReader struct {
	cfg    Config
	group  string
	topics []string
	opts   GroupReaderOptions
	log    *zap.Logger
	cg     *kafka.ConsumerGroup

	queue  chan *fetchedBatch
	taken  chan struct{} // buffered 1: FetchMessage emptied the queue
	errs   chan error    // join errors, for FetchMessage to report (latest only)
	fetchL chan struct{}

	mu       sync.Mutex
	epoch    uint64            // bumped at each generation start and end
	gen      *kafka.Generation // nil between generations
	assigned map[assignedPartition]bool
	cur      *fetchedBatch // being handed out by FetchMessage
	curIdx   int

	trMu sync.Mutex
	tr   *kafka.Transport

	stats readerCounters

	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed when the run loop ended
}

// assignedPartition names one partition.
type assignedPartition struct {
	topic     string
	partition int
}

// fetchedBatch is one partition's records from one fetch response, in offset
// order, tagged with the epoch of the generation that fetched them.
type fetchedBatch struct {
	epoch uint64
	msgs  []kafka.Message
}

// NewGroupReader joins group for topics and starts fetching. It returns at
// once; joining happens in the background (FetchMessage reports a failed join
// attempt as an error, and the reader keeps trying, as kafka.Reader does).
// log may be nil.
func NewGroupReader(cfg Config, group string, topics []string, log *zap.Logger, opts GroupReaderOptions) (*GroupReader, error) {
	if log == nil {
		log = zap.NewNop()
	}
	opts.setDefaults()
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("building group reader: no brokers configured")
	}
	start := kafka.FirstOffset
	if opts.StartAtLatest {
		start = kafka.LastOffset
	}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                     group,
		Brokers:                cfg.Brokers,
		Topics:                 topics,
		Dialer:                 &kafka.Dialer{ClientID: clientID(cfg), Timeout: 10 * time.Second, DualStack: true},
		HeartbeatInterval:      3 * time.Second,
		SessionTimeout:         opts.SessionTimeout,
		RebalanceTimeout:       30 * time.Second,
		JoinGroupBackoff:       time.Second,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: opts.PartitionWatch,
		StartOffset:            start,
		Logger:                 DebugLogger(log),
		ErrorLogger:            ErrorLogger(log),
	})
	if err != nil {
		return nil, fmt.Errorf("building consumer group %s: %w", group, err)
	}
	r := &GroupReader{
		cfg:    cfg,
		group:  group,
		topics: topics,
		opts:   opts,
		log:    log.With(zap.String("group", group)),
		cg:     cg,
		queue:  make(chan *fetchedBatch, opts.QueueBatches),
		taken:  make(chan struct{}, 1),
		errs:   make(chan error, 1),
		fetchL: make(chan struct{}, 1),
		tr:     newTransport(cfg),
		closed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	go r.run()
	return r, nil
}

// FetchMessage returns the next record, waiting until one is fetched, ctx ends
// (ctx's error), or the reader is closed (io.EOF). It also returns the error of
// a failed attempt to join the group; the reader keeps trying meanwhile, so
// such an error is transient (see FetchRetrying). It never commits.
func (r *GroupReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	select {
	case r.fetchL <- struct{}{}:
	case <-ctx.Done():
		return kafka.Message{}, ctx.Err()
	case <-r.closed:
		return kafka.Message{}, io.EOF
	}
	defer func() { <-r.fetchL }()
	for {
		select {
		case <-r.closed:
			return kafka.Message{}, io.EOF
		default:
		}
		if m, ok := r.next(nil); ok {
			return m, nil
		}
		select {
		case b := <-r.queue:
			if len(r.queue) == 0 {
				select {
				case r.taken <- struct{}{}:
				default:
				}
			}
			if m, ok := r.next(b); ok {
				return m, nil
			}
		case err := <-r.errs:
			return kafka.Message{}, err
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		case <-r.closed:
			return kafka.Message{}, io.EOF
		}
	}
}

// next hands out the next record of the current batch, first making b the
// current batch when b is not nil. Records of a generation that is no longer
// current are dropped here, under the same lock that starts a generation.
func (r *GroupReader) next(b *fetchedBatch) (kafka.Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b != nil {
		r.cur, r.curIdx = b, 0
	}
	if r.cur == nil || r.cur.epoch != r.epoch || r.curIdx >= len(r.cur.msgs) {
		r.cur = nil
		return kafka.Message{}, false
	}
	m := r.cur.msgs[r.curIdx]
	r.cur.msgs[r.curIdx] = kafka.Message{} // let the GC have it once the caller is done
	r.curIdx++
	return m, true
}

// CommitMessages commits, for each partition among msgs, the offset after the
// highest-offset message given (what kafka.Reader.CommitMessages commits), in
// one request through the current generation. It returns ErrNoGeneration
// between generations (nothing committed; retry later) and the coordinator's
// error when the commit failed, for example because a rebalance began.
//
// Partitions this member no longer owns in the current generation are left
// out (counted in Stats().CommitsDropped), not an error: their new owner
// re-reads them from the group's committed offset, so their records are
// redelivered, never lost, while committing them could move the new owner's
// committed offset backwards. A caller retrying failed commits would otherwise
// retry them forever.
func (r *GroupReader) CommitMessages(ctx context.Context, msgs ...kafka.Message) error {
	select {
	case <-r.closed:
		return io.ErrClosedPipe
	default:
	}
	if len(msgs) == 0 {
		return nil
	}
	r.mu.Lock()
	gen, assigned := r.gen, r.assigned
	r.mu.Unlock()
	if gen == nil {
		return ErrNoGeneration
	}
	offsets, dropped := commitOffsets(msgs, assigned)
	if dropped > 0 {
		r.stats.commitDrop.Add(int64(dropped))
	}
	if len(offsets) == 0 {
		return nil
	}
	// Generation.CommitOffsets takes no context; it is bounded by the
	// coordinator connection's timeouts. Return on ctx anyway.
	res := make(chan error, 1)
	go func() { res <- gen.CommitOffsets(offsets) }()
	select {
	case err := <-res:
		if err != nil {
			return fmt.Errorf("committing offsets of %s: %w", r.group, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitOffsets returns topic -> partition -> offset to commit (last offset
// + 1) for the partitions of msgs in assigned, and how many partitions it left
// out because they are not.
func commitOffsets(msgs []kafka.Message, assigned map[assignedPartition]bool) (map[string]map[int]int64, int) {
	out := map[string]map[int]int64{}
	skipped := map[assignedPartition]bool{}
	for _, m := range msgs {
		k := assignedPartition{m.Topic, m.Partition}
		if !assigned[k] {
			skipped[k] = true
			continue
		}
		parts := out[m.Topic]
		if parts == nil {
			parts = map[int]int64{}
			out[m.Topic] = parts
		}
		if cur, ok := parts[m.Partition]; !ok || m.Offset+1 > cur {
			parts[m.Partition] = m.Offset + 1
		}
	}
	return out, len(skipped)
}

// Stats returns the reader's cumulative readerCounters.
func (r *GroupReader) Stats() GroupReaderStats {
	s := &r.stats
	return GroupReaderStats{
		Fetches: s.fetches.Load(), FetchErrors: s.fetchErrors.Load(), EmptyFetches: s.emptyFetches.Load(),
		Records: s.records.Load(), Generations: s.generations.Load(), Regroups: s.regroups.Load(),
		OffsetResets: s.offsetResets.Load(), CommitsDropped: s.commitDrop.Load(), Partitions: s.partitions.Load(),
		Sessions: s.sessions.Load(), SessionResets: s.sessionResets.Load(),
	}
}

// Close leaves the group (so its partitions move to the other members at
// once, not after the session timeout) and waits for every goroutine of the
// reader to stop. It is safe to call more than once; later calls return the
// first call's result.
func (r *GroupReader) Close() error {
	r.closeOnce.Do(func() {
		close(r.closed)
		// ConsumerGroup.Close ends the generation (our fetch loops exit on its
		// context), waits for them and sends LeaveGroup.
		r.closeErr = r.cg.Close()
		<-r.done
		r.trMu.Lock()
		r.tr.CloseIdleConnections()
		r.trMu.Unlock()
	})
	return r.closeErr
}

// run joins generation after generation until the group is closed.
func (r *GroupReader) run() {
	defer close(r.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-r.closed
		cancel()
	}()
	for {
		gen, err := r.cg.Next(ctx)
		switch {
		case errors.Is(err, kafka.ErrGroupClosed) || ctx.Err() != nil:
			return
		case err != nil:
			r.report(fmt.Errorf("joining consumer group %s: %w", r.group, err))
			continue // ConsumerGroup backs off itself (JoinGroupBackoff)
		}
		epoch := r.begin(gen)
		gen.Start(func(gctx context.Context) {
			defer r.end(gen)
			r.consume(gctx, gen, epoch)
		})
	}
}

// report hands err to FetchMessage, replacing an older error not read yet.
func (r *GroupReader) report(err error) {
	for {
		select {
		case r.errs <- err:
			return
		default:
		}
		select {
		case <-r.errs:
		default:
		}
	}
}

// begin makes gen current, so that from now on only its records are handed
// out, and drops the batches an older generation left in the queue (its fetch
// loops have all stopped: ConsumerGroup.Next returns a generation only after
// the previous one's goroutines returned).
func (r *GroupReader) begin(gen *kafka.Generation) uint64 {
	assigned := map[assignedPartition]bool{}
	for topic, parts := range gen.Assignments {
		for _, p := range parts {
			assigned[assignedPartition{topic, p.ID}] = true
		}
	}
	r.mu.Lock()
	r.epoch++
	epoch := r.epoch
	r.gen, r.assigned, r.cur = gen, assigned, nil
	r.mu.Unlock()
	for drained := false; !drained; {
		select {
		case <-r.queue:
		default:
			drained = true
		}
	}
	r.stats.generations.Add(1)
	r.stats.partitions.Store(int64(len(assigned)))
	r.log.Debug("joined consumer-group generation", zap.Int32("generation", gen.ID), zap.Int("partitions", len(assigned)))
	return epoch
}

// end retires gen: its fetched, not yet returned records are dropped, and
// CommitMessages answers ErrNoGeneration until the next one begins.
func (r *GroupReader) end(gen *kafka.Generation) {
	r.mu.Lock()
	if r.gen == gen {
		r.epoch++
		r.gen, r.assigned, r.cur = nil, nil, nil
	}
	r.mu.Unlock()
	r.stats.partitions.Store(0)
}

// client returns a client on the reader's current connection pool.
func (r *GroupReader) client() *kafka.Client {
	r.trMu.Lock()
	defer r.trMu.Unlock()
	return &kafka.Client{Addr: kafka.TCP(r.cfg.Brokers...), Transport: r.tr}
}

// renewTransport replaces the connection pool, whose cached metadata also
// routes fetch requests to partition leaders, with a fresh one: after a leader
// moved, the old pool would keep sending to the old leader until its metadata
// expired. Call it only while no fetch loop runs.
func (r *GroupReader) renewTransport() {
	r.trMu.Lock()
	defer r.trMu.Unlock()
	r.tr.CloseIdleConnections()
	r.tr = newTransport(r.cfg)
}
