package consume

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/normalizer/internal/state"
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
}

// Deps are the consumer's collaborators.
type Deps struct {
	Fetcher   Fetcher
	Producer  Producer
	Dedup     Deduper
	States    States
	Claims    Claims
	Recovery  Recovery
	Normalize NormalizeFunc // nil: adapter.Normalize
	Metrics   *Metrics      // nil: unregistered metrics
	Log       *zap.Logger
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
	if d.Fetcher == nil || d.Producer == nil || d.Dedup == nil || d.States == nil || d.Claims == nil || d.Recovery == nil {
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
	return &Consumer{cfg: cfg, d: d, log: d.Log, m: d.Metrics, now: time.Now}, nil
}

// Run consumes until ctx is cancelled, then stops fetching, finishes and commits
// the batch in flight (within DrainTimeout) and returns nil. It returns an error
// only when the fetcher fails for good or the drain deadline cut a batch short
// (that batch is not committed and will be redelivered).
func (c *Consumer) Run(ctx context.Context) error {
	// work outlives ctx by DrainTimeout so the batch in flight can finish.
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

	for {
		batch, ferr := c.collect(ctx, msgs, fetchErr)
		if len(batch) > 0 {
			if err := c.handle(work, batch, commits); err != nil {
				return err
			}
		}
		if ferr != nil {
			return ferr
		}
		if ctx.Err() != nil {
			c.log.Info("consumer drained")
			return nil
		}
	}
}

// fetch feeds msgs until ctx ends or the fetcher fails.
func (c *Consumer) fetch(ctx context.Context, msgs chan<- kafka.Message) error {
	for {
		m, err := c.d.Fetcher.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetching raw records: %w", err)
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
}

func newOutcome() *outcome {
	return &outcome{
		produced: map[string]int{}, dups: map[string]int{}, notAdvancing: map[string]int{},
		unknown: map[string]int{}, byStatus: map[[2]string]int{}, dlq: map[string]int{},
	}
}

// handle maps, produces, marks and commits one batch, retrying transient failures
// until they succeed or ctx ends.
func (c *Consumer) handle(ctx context.Context, batch []kafka.Message, commits chan<- []kafka.Message) error {
	start := c.now()
	items := make([]item, len(batch))
	for i, m := range batch {
		rec := RawRecord(m)
		outs, err := normalizeSafe(c.d.Normalize, rec)
		items[i] = item{msg: m, provider: rec.Provider, outs: outs, err: err}
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = c.cfg.RetryMin, c.cfg.RetryMax
	var out *outcome
	for {
		var step string
		var err error
		out, step, err = c.attempt(ctx, items)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("batch not finished before the drain deadline, not committed: %w", err)
		}
		c.m.Retries.WithLabelValues(step).Inc()
		wait := bo.NextBackOff()
		c.log.Warn("batch attempt failed, retrying", zap.String("step", step), zap.Int("records", len(batch)),
			zap.Duration("backoff", wait), zap.Error(err))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("batch not finished before the drain deadline, not committed: %w", err)
		}
	}
	commits <- broker.LastPerPartition(batch)
	c.record(items, out)
	c.m.BatchSeconds.Observe(c.now().Sub(start).Seconds())
	c.m.BatchRecords.Observe(float64(len(batch)))
	return nil
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
	for _, it := range items {
		c.m.RecordsIn.WithLabelValues(it.provider).Inc()
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
	for r, n := range out.dlq {
		c.m.DeadLettered.WithLabelValues(r).Add(float64(n))
	}
	c.m.Recovered.Add(float64(out.recovered))
}

func (c *Consumer) redis(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.RedisTimeout)
}

// attempt runs the batch once. On error it names the failing step; the claims it
// may hold stay in Redis, so the next attempt first recovers what this one might
// have produced.
func (c *Consumer) attempt(ctx context.Context, items []item) (*outcome, string, error) {
	out := newOutcome()
	claimed := c.now()
	held, recovered, step, err := c.claim(ctx, items)
	out.recovered = recovered
	if err != nil {
		return nil, step, err
	}

	var ids, subjects []string
	subjIdx := map[string]int{}
	for _, it := range items {
		for _, o := range it.outs {
			ids = append(ids, o.Event.ID)
			if _, ok := subjIdx[o.Event.Subject]; !ok {
				subjIdx[o.Event.Subject] = len(subjects)
				subjects = append(subjects, o.Event.Subject)
			}
		}
	}
	rctx, cancel := c.redis(ctx)
	seen, err := c.d.Dedup.Seen(rctx, ids)
	cancel()
	if err != nil {
		return nil, "dedup_check", err
	}
	rctx, cancel = c.redis(ctx)
	cur, err := c.d.States.Get(rctx, subjects)
	cancel()
	if err != nil {
		return nil, "state_read", err
	}

	now := c.now()
	changed := map[string]*state.Shipment{}
	inBatch := make(map[string]struct{}, len(ids))
	var msgs []kafka.Message
	var produced []string
	n := 0
	for _, it := range items {
		if it.err != nil {
			reason := adapter.ReasonOf(it.err)
			out.dlq[reason]++
			msgs = append(msgs, deadLetter(c.cfg.DLQTopic, c.cfg.Service, it.msg, it.err, now))
			c.log.Warn("dead-lettering raw record", zap.String("source", source(it.msg)),
				zap.String("provider", it.provider), zap.String("reason", reason))
			continue
		}
		for j := range it.outs {
			o := &it.outs[j]
			id, si := o.Event.ID, subjIdx[o.Event.Subject]
			dup := seen[n]
			n++
			// Every event is applied to the state, duplicates included: Apply is
			// idempotent, and an event recovered from an abandoned claim was
			// produced but its state never written.
			next, adv := state.Apply(cur[si], &o.Event)
			if next != cur[si] {
				cur[si] = next
				changed[o.Event.Subject] = next
			}
			if _, again := inBatch[id]; dup || again {
				out.dups[o.Event.Data.Provider]++
				continue
			}
			inBatch[id] = struct{}{}
			o.Event.Data.Advances = adv
			m, err := canonicalMessage(c.cfg.CanonicalTopic, o, it.msg)
			if err != nil {
				return nil, "encode", err
			}
			msgs = append(msgs, m)
			produced = append(produced, id)
			out.produced[o.Event.Data.Provider]++
			out.byStatus[[2]string{o.Event.Data.Provider, string(o.Event.Data.Status)}]++
			if !adv {
				out.notAdvancing[o.Event.Data.Provider]++
			}
			if o.Event.Data.Status == shipment.StatusUnknown {
				out.unknown[o.Event.Data.Provider]++
			}
		}
	}

	if len(msgs) > 0 {
		if c.now().Sub(claimed) > c.cfg.Lease/2 {
			return nil, "lease", ErrLeaseAtRisk
		}
		if err := c.d.Producer.WriteMessages(ctx, msgs...); err != nil {
			return nil, "produce", fmt.Errorf("producing %d records: %w", len(msgs), err)
		}
	}
	rctx, cancel = c.redis(ctx)
	defer cancel()
	if err := c.d.States.Put(rctx, changed); err != nil {
		return nil, "state_write", err
	}
	if err := c.d.Dedup.Mark(rctx, produced); err != nil {
		return nil, "dedup_mark", err
	}
	if err := c.d.Claims.Release(rctx, held); err != nil {
		return nil, "release", err
	}
	return out, "", nil
}

// claim claims the batch's raw partitions, first recovering any abandoned claim.
func (c *Consumer) claim(ctx context.Context, items []item) ([]inflight.Held, int, string, error) {
	var keys []string
	seenPart := map[string]bool{}
	for _, it := range items {
		k := it.msg.Topic + ":" + strconv.Itoa(it.msg.Partition)
		if !seenPart[k] {
			seenPart[k] = true
			keys = append(keys, k)
		}
	}
	recovered := 0
	for {
		rctx, cancel := c.redis(ctx)
		res, err := c.d.Claims.Claim(rctx, keys, c.d.Recovery.Offsets())
		cancel()
		if err != nil {
			return nil, recovered, "claim", err
		}
		if len(res.Stale) == 0 && res.Busy == 0 {
			return res.Held, recovered, "", nil
		}
		if len(res.Stale) == 0 {
			return nil, recovered, "claim_busy", fmt.Errorf("%w (lease left %s)", ErrPartitionBusy, res.Busy)
		}
		n, err := c.recover(ctx, res.Stale)
		recovered += n
		if err != nil {
			return nil, recovered, "recover", err
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
	ids, err := c.d.Recovery.Scan(ctx, from)
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
