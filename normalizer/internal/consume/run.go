package consume

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/platform/broker"
)

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

	// One prepared batch waits while the current one is handled.
	batches := make(chan *batch, 1)
	done := make(chan struct{})
	defer close(done)
	h := newHandling()
	go c.prepareAll(ctx, msgs, fetchErr, batches, done, h)

	// Commits run one at a time beside the next batch: a synchronous commit costs a
	// broker round trip (ms) that the next batch's Redis and Kafka work can overlap.
	// Offsets are handed over in batch order, each only after its batch is durable,
	// and committed at most once per CommitInterval (see commitLoop); Run waits for
	// the last commit, which takes whatever is still pending, before it returns.
	commits := make(chan []kafka.Message, 1)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		c.commitLoop(work, commits)
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
			h.start()
			nextPre, err = c.handle(work, b, pre, piggy, commits)
			h.finish()
			if err != nil {
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

// prepareAll collects and prepares batches in order and hands them to batches,
// which it closes when it stops: when ctx ends (after handing over what it
// collected), after a batch carrying a fetch error, or when done closes (Run
// returned).
func (c *Consumer) prepareAll(ctx context.Context, msgs <-chan kafka.Message, fetchErr <-chan error,
	batches chan<- *batch, done <-chan struct{}, h *handling) {
	defer close(batches)
	for {
		recs, ferr := c.collect(ctx, msgs, fetchErr, h)
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
}

// fetch feeds msgs until ctx ends. A failed fetch (broker unreachable, group
// coordinator moving) is transient: broker.FetchRetrying backs off and asks again
// instead of stopping the service; nothing past the last durable batch was
// committed, so nothing is lost while it waits. Only a closed reader ends it.
func (c *Consumer) fetch(ctx context.Context, msgs chan<- kafka.Message) error {
	failing := false
	for {
		m, err := broker.FetchRetrying(ctx, c.d.Fetcher, c.cfg.RetryMin, c.cfg.RetryMax, func(err error, attempt int) {
			c.m.Retries.WithLabelValues(string(StepFetch)).Inc()
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

// handling tells collect whether Run is handling a batch. Run calls start before
// and finish after each handle.
type handling struct {
	busy atomic.Bool
	free chan struct{} // a token after each finish; capacity 1
}

func newHandling() *handling { return &handling{free: make(chan struct{}, 1)} }

func (h *handling) start() { h.busy.Store(true) }

func (h *handling) finish() {
	h.busy.Store(false)
	select {
	case h.free <- struct{}{}:
	default:
	}
}

// collect waits for a first record, then takes every record already fetched, up
// to BatchSize. It waits for more only while that saves work: while Run is still
// handling the batch before (the new batch could not start anyway, and a fuller
// batch costs the same Redis round trips and produce request), for at most Linger
// after the first record. When Run is idle the batch goes at once, so at low load
// a record pays no linger. When ctx is cancelled it returns what it has (records
// still queued are not committed and will be redelivered).
func (c *Consumer) collect(ctx context.Context, msgs <-chan kafka.Message, fetchErr <-chan error, h *handling) ([]kafka.Message, error) {
	var batch []kafka.Message
	select {
	case m := <-msgs:
		batch = append(batch, m)
	case err := <-fetchErr:
		return nil, err
	case <-ctx.Done():
		return nil, nil
	}
	first := time.Now()
	var linger *time.Timer
	defer func() {
		if linger != nil {
			linger.Stop()
		}
	}()
	for len(batch) < c.cfg.BatchSize {
		select {
		case m := <-msgs:
			batch = append(batch, m)
			continue
		default:
		}
		// Drop a token from an earlier finish, then look: a finish after this
		// look leaves a fresh token, so the wait below cannot miss it.
		select {
		case <-h.free:
		default:
		}
		if c.cfg.Linger <= 0 || !h.busy.Load() {
			return batch, nil
		}
		if linger == nil {
			linger = time.NewTimer(c.cfg.Linger - time.Since(first))
		}
		select {
		case m := <-msgs:
			batch = append(batch, m)
		case <-h.free:
			return batch, nil
		case <-linger.C:
			return batch, nil
		case <-ctx.Done():
			return batch, nil
		}
	}
	return batch, nil
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
		var err error
		out, nextPre, err = c.attempt(ctx, b, pre, next)
		pre = nil
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("batch not finished before the drain deadline, not committed: %w", err)
		}
		step, cause := stepOf(err)
		c.m.Retries.WithLabelValues(string(step)).Inc()
		wait := bo.NextBackOff()
		c.log.Warn("batch attempt failed, retrying", zap.String("step", string(step)), zap.Int("records", len(b.msgs)),
			zap.Duration("backoff", wait), zap.Error(cause))
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

// commitLoop commits the offsets handed to commits (per partition, the last
// record of a durable batch) until commits is closed, at most once per
// CommitInterval: offsets that arrive within the interval after a commit wait,
// merged (the latest per partition), and go in one request when it has passed.
// The first offsets after a quiet interval are committed at once. When commits
// closes, what is pending is committed before commitLoop returns, so a clean
// shutdown leaves the last durable batch committed. CommitInterval 0 commits
// each batch's offsets as they come.
//
// Waiting commits only delay the group's committed offsets: a crash re-delivers
// at most one interval's records past the last commit, and their events are
// already marked in Redis, so they are deduplicated.
func (c *Consumer) commitLoop(ctx context.Context, commits <-chan []kafka.Message) {
	var (
		pending []kafka.Message
		last    time.Time
		due     <-chan time.Time
	)
	flush := func() {
		if len(pending) > 0 {
			c.commit(ctx, pending)
			pending, last = nil, time.Now()
		}
	}
	for {
		select {
		case offs, ok := <-commits:
			if !ok {
				flush()
				return
			}
			for _, m := range offs {
				// Only the position is committed; do not hold the record's bytes.
				pending = append(pending, kafka.Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset})
			}
			pending = broker.LastPerPartition(pending)
			if due != nil {
				continue // a commit is already scheduled
			}
			if wait := c.cfg.CommitInterval - time.Since(last); wait > 0 {
				due = time.After(wait)
				continue
			}
			flush()
		case <-due:
			due = nil
			flush()
		}
	}
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
