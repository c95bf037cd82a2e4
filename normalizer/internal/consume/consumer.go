package consume

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/normalizer/internal/unknowns"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// Config tunes the consumer loop.
type Config struct {
	// CanonicalTopic and DLQTopic are where events and dead letters are written.
	CanonicalTopic string
	DLQTopic       string
	// BatchSize caps the raw records per batch; Linger is how long a batch waits for
	// more records after its first one.
	BatchSize int
	Linger    time.Duration
	// RetryMin and RetryMax bound the exponential backoff between attempts of a
	// batch that failed transiently.
	RetryMin, RetryMax time.Duration
	// RedisTimeout bounds each Redis round trip.
	RedisTimeout time.Duration
	// Lease is the in-flight claim lease; an attempt that reaches the produce step
	// later than Lease/2 after claiming starts over instead of producing.
	Lease time.Duration
	// DrainTimeout bounds finishing the batch in flight after ctx is cancelled.
	DrainTimeout time.Duration
	// Service is the dlq_service header value.
	Service string
	// RedeliveryWindow is how long the exact bytes of a repeatable event (one
	// whose identity holds no provider time, sequence or event id, see
	// adapter.Output.Repeatable) stay a re-delivery even after another status of
	// the shipment arrived: a provider retrying a webhook does so within minutes,
	// a real repeat of a status (a new delivery attempt) comes hours later.
	// Default 10 minutes.
	RedeliveryWindow time.Duration
	// MaxEventBytes caps one canonical record (value, key and headers). A bigger
	// one would be refused by the broker (message.max.bytes, 1 MiB by default) or
	// by kafka-go (BatchBytes) on every attempt, so its raw record is dead-lettered
	// (event_too_large) instead of stalling the partition. Default 1,000,000.
	MaxEventBytes int
}

// Deps are the consumer's collaborators.
type Deps struct {
	Fetcher   Fetcher
	Producer  Producer
	Redis     Redis // the client the stores below use
	Dedup     Deduper
	States    States
	Claims    Claims
	Recovery  Recovery
	Normalize NormalizeFunc // nil: adapter.Normalize
	// Index, when set, records each raw record's events or dead-letter reason for
	// the lookup API, in the same MULTI as the state and marks.
	Index *lookup.Index
	// Unknowns, when set, counts unknown statuses by provider status value.
	Unknowns *unknowns.Tracker
	Metrics  *Metrics // nil: unregistered metrics
	Log      *zap.Logger
}

// Consumer is the normalizer's consume → produce → commit loop.
type Consumer struct {
	cfg Config
	d   Deps
	log *zap.Logger
	m   *Metrics
	now func() time.Time
}

// Errors returned by one attempt of a batch; all are transient.
var (
	// ErrPartitionBusy means another live owner holds an in-flight claim on a raw
	// partition in the batch (a rebalance moved it mid-batch); wait for it.
	ErrPartitionBusy = errors.New("raw partition in flight at another consumer")
	// ErrLeaseAtRisk means the attempt took so long that producing now could
	// outlive its claim's lease; it starts over.
	ErrLeaseAtRisk = errors.New("batch attempt too slow for its in-flight lease")
)

// New returns a consumer; it checks that every dependency is set.
func New(cfg Config, d Deps) (*Consumer, error) {
	if d.Fetcher == nil || d.Producer == nil || d.Redis == nil || d.Dedup == nil || d.States == nil || d.Claims == nil || d.Recovery == nil {
		return nil, errors.New("consume: missing dependency")
	}
	if cfg.CanonicalTopic == "" || cfg.DLQTopic == "" {
		return nil, errors.New("consume: canonical and DLQ topics are required")
	}
	if d.Normalize == nil {
		d.Normalize = adapter.Normalize
	}
	if d.Log == nil {
		d.Log = zap.NewNop()
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	cfg.BatchSize = max(cfg.BatchSize, 1)
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 100 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(cfg.RetryMin, 5*time.Second)
	}
	if cfg.RedisTimeout <= 0 {
		cfg.RedisTimeout = 5 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	if cfg.Service == "" {
		cfg.Service = "normalizer"
	}
	if cfg.RedeliveryWindow <= 0 {
		cfg.RedeliveryWindow = 10 * time.Minute
	}
	if cfg.MaxEventBytes <= 0 {
		cfg.MaxEventBytes = 1_000_000
	}
	return &Consumer{cfg: cfg, d: d, log: d.Log, m: d.Metrics, now: time.Now}, nil
}

// Run consumes until ctx is cancelled, then stops fetching, finishes and commits
// the batches in flight (within DrainTimeout) and returns nil. It returns an error
// only when the fetcher fails for good or the drain deadline cut a batch short
// (that batch is not committed and will be redelivered).
//
// Three stages overlap, each keeping batch order: collecting and mapping the next
// batch (prepare: adapters, event encoding), the current batch's Redis and Kafka
// work (handle, one batch at a time, so each batch sees the state and marks of the
// one before), and committing the previous batch's offsets.
func (c *Consumer) Run(ctx context.Context) error {
	// work outlives ctx by DrainTimeout so the batches in flight can finish.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(c.cfg.DrainTimeout, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	msgs := make(chan kafka.Message, c.cfg.BatchSize)
	fetchErr := make(chan error, 1)
	go func() { fetchErr <- c.fetch(ctx, msgs) }()

	// One prepared batch waits while the current one is handled; prepare stops
	// when ctx ends (or Run returns), after handing over what it collected.
	batches := make(chan *batch, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(batches)
		for {
			recs, ferr := c.collect(ctx, msgs, fetchErr)
			if len(recs) > 0 || ferr != nil {
				b := &batch{fetchErr: ferr}
				if len(recs) > 0 {
					b = c.prepare(recs)
					b.fetchErr = ferr
				}
				select {
				case batches <- b:
				case <-done:
					return
				}
			}
			if ferr != nil || ctx.Err() != nil {
				return
			}
		}
	}()

	// Commits run one at a time beside the next batch: a synchronous commit costs a
	// broker round trip (ms) that the next batch's Redis and Kafka work can overlap.
	// Offsets are committed in batch order, each only after its batch is durable;
	// Run waits for the last commit before it returns.
	commits := make(chan []kafka.Message, 1)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		for offs := range commits {
			c.commit(work, offs)
		}
	}()
	defer func() { close(commits); <-committed }()

	// next is the batch after b when it was already prepared: its claim and reads
	// ride on b's last Redis round trip (see attempt), and pre carries them over.
	var next *batch
	var pre *begun
	open := true
	for {
		b := next
		next = nil
		if b == nil {
			var ok bool
			if b, ok = <-batches; !ok {
				break
			}
		}
		if open && b.fetchErr == nil {
			select {
			case nb, ok := <-batches:
				next, open = nb, ok
			default:
			}
		}
		var nextPre *begun
		if len(b.msgs) > 0 {
			var piggy *batch
			if next != nil && len(next.msgs) > 0 {
				piggy = next
			}
			var err error
			if nextPre, err = c.handle(work, b, pre, piggy, commits); err != nil {
				return err
			}
		}
		pre = nextPre
		if b.fetchErr != nil {
			return b.fetchErr
		}
		if !open && next == nil {
			break
		}
	}
	c.log.Info("consumer drained")
	return nil
}

// recoveryScanTimeout bounds one scan of the canonical topic during recovery.
const recoveryScanTimeout = 2 * time.Minute

// fetch feeds msgs until ctx ends. A failed fetch (broker unreachable, group
// coordinator moving) is transient: broker.FetchRetrying backs off and asks again
// instead of stopping the service; nothing past the last durable batch was
// committed, so nothing is lost while it waits. Only a closed reader ends it.
func (c *Consumer) fetch(ctx context.Context, msgs chan<- kafka.Message) error {
	failing := false
	for {
		m, err := broker.FetchRetrying(ctx, c.d.Fetcher, c.cfg.RetryMin, c.cfg.RetryMax, func(err error, attempt int) {
			c.m.Retries.WithLabelValues("fetch").Inc()
			if attempt == 1 {
				c.log.Warn("fetching raw records failed, retrying", zap.Error(err))
			}
			failing = true
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetching raw records: %w", err)
		}
		if failing {
			c.log.Info("fetching raw records again")
			failing = false
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
			return nil
		}
	}
}

// collect waits for a first record, then gathers more until BatchSize or Linger.
// When ctx is cancelled it returns what it has (records still queued are not
// committed and will be redelivered).
func (c *Consumer) collect(ctx context.Context, msgs <-chan kafka.Message, fetchErr <-chan error) ([]kafka.Message, error) {
	var batch []kafka.Message
	select {
	case m := <-msgs:
		batch = append(batch, m)
	case err := <-fetchErr:
		return nil, err
	case <-ctx.Done():
		return nil, nil
	}
	linger := time.NewTimer(c.cfg.Linger)
	defer linger.Stop()
	for len(batch) < c.cfg.BatchSize {
		select {
		case m := <-msgs:
			batch = append(batch, m)
			continue
		default:
		}
		select {
		case m := <-msgs:
			batch = append(batch, m)
		case <-linger.C:
			return batch, nil
		case <-ctx.Done():
			return batch, nil
		}
	}
	return batch, nil
}

// outcome is what a successful attempt did, for metrics after the commit.
type outcome struct {
	produced, dups, notAdvancing, unknown map[string]int // by provider
	byStatus                              map[[2]string]int
	dlq                                   map[string]int
	recovered                             int
	unknownValues                         [][2]string // provider, provider status
}

func newOutcome() *outcome {
	return &outcome{
		produced: map[string]int{}, dups: map[string]int{}, notAdvancing: map[string]int{},
		unknown: map[string]int{}, byStatus: map[[2]string]int{}, dlq: map[string]int{},
	}
}

// handle produces, marks and commits one prepared batch, retrying transient
// failures until they succeed or ctx ends. pre, when set, is b's claim and reads
// done in the previous batch's last round trip; next, when set, is the batch whose
// claim and reads ride on b's last round trip, returned for it.
func (c *Consumer) handle(ctx context.Context, b *batch, pre *begun, next *batch, commits chan<- []kafka.Message) (*begun, error) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = c.cfg.RetryMin, c.cfg.RetryMax
	var out *outcome
	var nextPre *begun
	for {
		var step string
		var err error
		out, nextPre, step, err = c.attempt(ctx, b, pre, next)
		pre = nil
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("batch not finished before the drain deadline, not committed: %w", err)
		}
		c.m.Retries.WithLabelValues(step).Inc()
		wait := bo.NextBackOff()
		c.log.Warn("batch attempt failed, retrying", zap.String("step", step), zap.Int("records", len(b.msgs)),
			zap.Duration("backoff", wait), zap.Error(err))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("batch not finished before the drain deadline, not committed: %w", err)
		}
	}
	commits <- broker.LastPerPartition(b.msgs)
	c.record(b.items, out)
	c.m.BatchSeconds.Observe(c.now().Sub(b.start).Seconds())
	c.m.BatchRecords.Observe(float64(len(b.msgs)))
	return nextPre, nil
}

// commit commits offsets whose records are durable. A failure is logged, not
// retried: everything derived is durable, and the records will be redelivered
// (after a rebalance, to whoever owns the partition) and deduplicated.
func (c *Consumer) commit(ctx context.Context, offs []kafka.Message) {
	if err := c.d.Fetcher.CommitMessages(ctx, offs...); err != nil {
		c.m.CommitFailures.Inc()
		c.log.Warn("committing offsets failed; records will be redelivered and deduplicated", zap.Error(err))
	}
}

func (c *Consumer) record(items []item, out *outcome) {
	in := map[string]int{}
	for _, it := range items {
		in[it.provider]++
	}
	for p, n := range in {
		c.m.RecordsIn.WithLabelValues(p).Add(float64(n))
	}
	for k, n := range out.byStatus {
		c.m.EventsOut.WithLabelValues(k[0], k[1]).Add(float64(n))
	}
	for p, n := range out.dups {
		c.m.Duplicates.WithLabelValues(p).Add(float64(n))
	}
	for p, n := range out.notAdvancing {
		c.m.NotAdvancing.WithLabelValues(p).Add(float64(n))
	}
	for p, n := range out.unknown {
		c.m.Unknown.WithLabelValues(p).Add(float64(n))
	}
	for _, v := range out.unknownValues {
		c.d.Unknowns.Observe(v[0], v[1])
	}
	countDropped(c.m, items)
	for r, n := range out.dlq {
		c.m.DeadLettered.WithLabelValues(r).Add(float64(n))
	}
	c.m.Recovered.Add(float64(out.recovered))
}

func (c *Consumer) redis(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.RedisTimeout)
}

// attempt runs the batch once: one Redis round trip (claim, dedup check, state
// read; skipped when pre holds them), one more only when the batch holds
// repeatable events (their qualified ids' dedup check, see decide), one Kafka
// write, and one Redis round trip
// (state, marks, release; plus next's claim and reads when next is set). On error
// it names the failing step; the claims it may hold stay in Redis, so the next
// attempt first recovers what this one might have produced.
func (c *Consumer) attempt(ctx context.Context, b *batch, pre *begun, next *batch) (*outcome, *begun, string, error) {
	out := newOutcome()
	var bg begun
	if pre != nil {
		bg = *pre
	} else {
		var recovered int
		var step string
		var err error
		bg, recovered, step, err = c.begin(ctx, b)
		out.recovered = recovered
		if err != nil {
			return nil, nil, step, err
		}
	}
	seen, cur := bg.seen, bg.cur

	changed := map[string]*state.Shipment{}
	dec, err := c.decide(ctx, b, seen, cur, bg.window, changed)
	if err != nil {
		return nil, nil, "dedup_check", err
	}
	now := c.now()
	emitted := make(map[string]struct{}, len(b.ids))
	msgs := make([]kafka.Message, 0, len(b.ids)+4)
	produced := make([]string, 0, len(b.ids))
	var windowed map[string]int64 // unqualified id -> receive time of the repeatable events produced
	// One allocation each for every record value and header of the attempt.
	arena := make([]byte, 0, b.size+len(b.ids)*256)
	headers := make([]kafka.Header, 0, len(b.ids)*canonicalHeaders)
	n, dn := 0, b.events
	ix := c.d.Index.Batch()
	for _, it := range b.items {
		if it.err != nil {
			reason := adapter.ReasonOf(it.err)
			out.dlq[reason]++
			ix.Dead(it.msg, reason, now)
			msgs = append(msgs, deadLetter(c.cfg.DLQTopic, c.cfg.Service, it.msg, it.err, now))
			c.log.Warn("dead-lettering raw record", zap.String("source", source(it.msg)),
				zap.String("provider", it.provider), zap.String("reason", reason))
			continue
		}
		for j := range it.outs {
			o := &it.outs[j]
			id, dup, adv := dec.ids[n], dec.seen[n], dec.adv[n]
			n++
			if _, again := emitted[id]; dup || again {
				out.dups[o.Event.Data.Provider]++
				continue
			}
			emitted[id] = struct{}{}
			o.Event.Data.Advances = adv
			if o.Repeatable {
				if windowed == nil {
					windowed = map[string]int64{}
				}
				windowed[shipment.EventID(o.DedupKey)] = o.Event.Data.ReceivedAt.UnixMilli()
				enc, err := withID(it.enc[j], &o.Event)
				if err != nil {
					return nil, nil, "encode", err
				}
				it.enc[j] = enc
			}
			var m kafka.Message
			m, arena, headers = canonicalMessage(c.cfg.CanonicalTopic, o, it.enc[j], it.msg, arena, headers)
			msgs = append(msgs, m)
			produced = append(produced, id)
			ix.Event(it.msg, &o.Event)
			out.produced[o.Event.Data.Provider]++
			out.byStatus[[2]string{o.Event.Data.Provider, string(o.Event.Data.Status)}]++
			if !adv {
				out.notAdvancing[o.Event.Data.Provider]++
			}
			if o.Event.Data.Status == shipment.StatusUnknown {
				out.unknown[o.Event.Data.Provider]++
				out.unknownValues = append(out.unknownValues, [2]string{o.Event.Data.Provider, o.Event.Data.ProviderStatus})
			}
		}
		// A bad part dead-letters the raw record once (its id is marked with the
		// events), while the body's other parts were emitted above.
		for _, d := range it.dead {
			id := b.ids[dn]
			dup := seen[dn]
			dn++
			if _, again := emitted[id]; dup || again {
				continue
			}
			emitted[id] = struct{}{}
			produced = append(produced, id)
			out.dlq[d.Reason]++
			ix.Dead(it.msg, d.Reason, now)
			msgs = append(msgs, deadLetter(c.cfg.DLQTopic, c.cfg.Service, it.msg, d, now))
			c.log.Warn("dead-lettering one part of a raw record", zap.String("source", source(it.msg)),
				zap.String("provider", it.provider), zap.String("reason", d.Reason), zap.Error(d))
		}
	}

	if len(msgs) > 0 {
		if c.now().Sub(bg.at) > c.cfg.Lease/2 {
			return nil, nil, "lease", ErrLeaseAtRisk
		}
		if err := c.d.Producer.WriteMessages(ctx, msgs...); err != nil {
			return nil, nil, "produce", fmt.Errorf("producing %d records: %w", len(msgs), err)
		}
	}
	// State, marks and the release in one MULTI: the release happens only if every
	// write was accepted (see inflight.Claims.ReleaseIn). The next batch's claim and
	// reads follow on the same connection, so they run after it.
	rctx, cancel := c.redis(ctx)
	defer cancel()
	pipe := c.d.Redis.Pipeline()
	multi := pipe.Do(rctx, "multi")
	if err := c.d.States.PutIn(rctx, pipe, changed); err != nil {
		return nil, nil, "state_write", err
	}
	c.d.Dedup.MarkIn(rctx, pipe, produced)
	// Kept twice the window: the window is measured on receive times, which may
	// trail the wall clock while a backlog is worked off.
	c.d.Dedup.MarkReceivedIn(rctx, pipe, windowed, 2*c.cfg.RedeliveryWindow)
	ix.Queue(rctx, pipe)
	c.d.Claims.ReleaseIn(rctx, pipe, bg.held)
	exec := pipe.Do(rctx, "exec")
	var nextRes func() (begun, inflight.Result, string, error)
	if next != nil {
		var err error
		if nextRes, err = c.queueBegin(rctx, pipe, next); err != nil {
			nextRes = nil
		}
	}
	_, _ = pipe.Exec(rctx) // each command carries its own error
	if err := execErr(multi, exec); err != nil {
		return nil, nil, "finish", fmt.Errorf("writing state, dedup marks and releasing claims: %w", err)
	}
	var nextPre *begun
	if nextRes != nil {
		// Anything short of a clean claim is left to next's own attempt: a claim
		// taken here and not used is its own stale claim then, and recovered.
		if nb, res, _, err := nextRes(); err == nil && len(res.Held) > 0 {
			nextPre = &nb
		}
	}
	return out, nextPre, "", nil
}

// execErr is the error of a MULTI ... EXEC sent as plain pipeline commands: Redis
// refusing a queued command aborts the whole transaction (EXECABORT), and a
// command failing inside it shows in EXEC's answer.
func execErr(multi, exec *redis.Cmd) error {
	if err := multi.Err(); err != nil {
		return err
	}
	res, err := exec.Slice()
	if err != nil {
		return err
	}
	for _, r := range res {
		if e, ok := r.(error); ok {
			return e
		}
	}
	return nil
}

// begun is what begin read for a batch under its claims.
type begun struct {
	held []inflight.Held
	seen []bool
	cur  []*state.Shipment
	// window holds, per unqualified id of the batch's repeatable events, the
	// receive time (Unix ms) of the last one produced, when remembered.
	window map[string]int64
	// at is when the claim was sent: the attempt's lease runs from then.
	at time.Time
}

// queueBegin queues b's claim and, after it, the dedup check and the state read
// on pipe. The returned function reads the answers once pipe ran; begun is valid
// only when the result holds every claim (no stale or busy one).
func (c *Consumer) queueBegin(ctx context.Context, pipe redis.Pipeliner, b *batch) (func() (begun, inflight.Result, string, error), error) {
	at := c.now()
	claimRes, err := c.d.Claims.ClaimIn(ctx, pipe, b.parts, c.d.Recovery.Offsets())
	if err != nil {
		return nil, err
	}
	seenRes := c.d.Dedup.SeenIn(ctx, pipe, b.ids)
	curRes := c.d.States.GetIn(ctx, pipe, b.subjects)
	var winIDs []string
	if b.repeatable > 0 {
		winIDs = b.repeatableIDs()
	}
	winRes := c.d.Dedup.ReceivedIn(ctx, pipe, winIDs)
	return func() (begun, inflight.Result, string, error) {
		res, err := claimRes()
		if err != nil {
			return begun{}, res, "claim", err
		}
		if len(res.Stale) > 0 || res.Busy > 0 {
			return begun{}, res, "", nil
		}
		bg := begun{held: res.Held, at: at}
		if bg.seen, err = seenRes(); err != nil {
			return begun{}, res, "dedup_check", err
		}
		if bg.cur, err = curRes(); err != nil {
			return begun{}, res, "state_read", err
		}
		win, err := winRes()
		if err != nil {
			return begun{}, res, "dedup_check", err
		}
		for i, ms := range win {
			if ms > 0 {
				if bg.window == nil {
					bg.window = map[string]int64{}
				}
				bg.window[winIDs[i]] = ms
			}
		}
		if len(bg.seen) != len(b.ids) || len(bg.cur) != len(b.subjects) {
			return begun{}, res, "dedup_check", errors.New("short answer from redis")
		}
		return bg, res, "", nil
	}, nil
}

// begin claims the batch's raw partitions and, in the same round trip and after
// the claim, checks the dedup marks and reads the shipments' state. A stale claim
// (an attempt that may have produced without marking) is recovered first and the
// round trip repeated, so the reads always follow a recovery.
func (c *Consumer) begin(ctx context.Context, b *batch) (begun, int, string, error) {
	recovered := 0
	for {
		rctx, cancel := c.redis(ctx)
		pipe := c.d.Redis.Pipeline()
		answer, err := c.queueBegin(rctx, pipe, b)
		if err != nil {
			cancel()
			return begun{}, recovered, "claim", err
		}
		_, _ = pipe.Exec(rctx) // each command carries its own error
		cancel()
		bg, res, step, err := answer()
		if err != nil {
			return begun{}, recovered, step, err
		}
		if len(res.Stale) == 0 && res.Busy == 0 {
			return bg, recovered, "", nil
		}
		if len(res.Stale) == 0 {
			return begun{}, recovered, "claim_busy", fmt.Errorf("%w (lease left %s)", ErrPartitionBusy, res.Busy)
		}
		n, err := c.recover(ctx, res.Stale)
		recovered += n
		if err != nil {
			return begun{}, recovered, "recover", err
		}
	}
}

// recover marks every event id the canonical topic holds since the stale claims'
// offsets, then drops the claims.
func (c *Consumer) recover(ctx context.Context, stale []inflight.Stale) (int, error) {
	from := map[int]int64{}
	first := true
	for _, s := range stale {
		if first {
			for p, o := range s.From {
				from[p] = o
			}
			first = false
			continue
		}
		for p := range from {
			o, ok := s.From[p]
			if !ok {
				delete(from, p) // unknown for one claim: scan that partition from its start
				continue
			}
			from[p] = min(from[p], o)
		}
	}
	// Bounded, so a broker problem during the scan fails this attempt (logged,
	// counted, retried with backoff) instead of hanging the batch silently.
	sctx, cancel := context.WithTimeout(ctx, recoveryScanTimeout)
	ids, err := c.d.Recovery.Scan(sctx, from)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("scanning canonical topic: %w", err)
	}
	for chunk := range chunks(ids, 5000) {
		rctx, cancel := c.redis(ctx)
		err := c.d.Dedup.Mark(rctx, chunk)
		cancel()
		if err != nil {
			return 0, err
		}
	}
	rctx, cancel := c.redis(ctx)
	defer cancel()
	if err := c.d.Claims.Drop(rctx, stale); err != nil {
		return 0, err
	}
	c.log.Info("recovered abandoned in-flight claims", zap.Int("claims", len(stale)), zap.Int("marked", len(ids)))
	return len(ids), nil
}

func chunks(s []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}
