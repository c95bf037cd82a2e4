package deliver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// Reader is the part of a consumer-group reader (*broker.GroupReader) a
// consumer uses: fetch, which never commits, then commit only what is done.
type Reader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// Consumer runs one reader (the canonical topic, or one retry tier) into the
// Engine and commits, per partition, the offsets whose deliveries are all done
// (Tracker). At most cfg.MaxInFlight records are fetched and not yet done.
type Consumer struct {
	name     string
	r        Reader
	tier     int // Canonical, or the retry tier read
	table    *route.Table
	eng      *Engine
	tr       *Tracker
	slots    chan struct{}
	interval time.Duration
	m        *Metrics
	log      *zap.Logger
}

// NewConsumer returns a consumer named name (the consumer label of its metrics)
// of r. tier is Canonical for the canonical topic, whose records are routed by
// table, or the retry tier r reads, whose records name their one sink in
// headers (table may then be nil). It uses cfg's MaxInFlight and CommitInterval.
func NewConsumer(name string, r Reader, tier int, table *route.Table, eng *Engine, cfg Config, m *Metrics, log *zap.Logger) *Consumer {
	if log == nil {
		log = zap.NewNop()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Consumer{
		name: name, r: r, tier: tier, table: table, eng: eng, tr: NewTracker(),
		slots: make(chan struct{}, cfg.MaxInFlight), interval: cfg.CommitInterval,
		m: m, log: log.With(zap.String("consumer", name)),
	}
}

// Fetch runs the fetch loop until ctx ends (stop fetching is the first shutdown
// step); it returns nil then, and an error only when fetching failed for good.
// workCtx bounds hand-off retries and outlives ctx during the drain. The
// engine's lanes must be running (Engine.Start) for deliveries to finish.
//
// A tier consumer hands each record to its partition's queue (see delayed), so a
// record waiting for its not-before holds back only later records of its own
// partition. Fetch returns after those queues have stopped; records still
// queued then are dropped uncommitted and fetched again after a restart.
func (c *Consumer) Fetch(ctx, workCtx context.Context) error {
	var queues *delayed
	if c.tier >= 0 {
		queues = newDelayed(c)
		defer queues.wait()
	}
	failing := false
	for {
		// A failed fetch (broker unreachable, group rejoining) is transient: back off
		// and ask again rather than stop the dispatcher; nothing undone was committed.
		msg, err := broker.FetchRetrying(ctx, c.r, 100*time.Millisecond, 5*time.Second, func(err error, attempt int) {
			c.m.fetchErrors.WithLabelValues(c.name).Inc()
			if attempt == 1 {
				c.log.Warn("fetching failed, retrying", zap.Error(err))
			}
			failing = true
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetching from %s: %w", c.name, err)
		}
		if failing {
			c.log.Info("fetching again")
			failing = false
		}
		c.m.records.WithLabelValues(c.name).Inc()
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		if queues != nil {
			queues.push(ctx, workCtx, msg)
			continue
		}
		if err := c.handle(ctx, workCtx, msg); err != nil {
			<-c.slots
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

func (c *Consumer) release() { <-c.slots }

// InFlight is the number of records fetched and not yet done (each holds one of
// the MaxInFlight slots), including tier records waiting for their not-before.
func (c *Consumer) InFlight() int { return len(c.slots) }

// handle turns one record into deliveries. It returns an error only when ctx
// ended before the record could be tracked; the record then stays uncommitted.
func (c *Consumer) handle(ctx, workCtx context.Context, msg kafka.Message) error {
	source := msg.Topic + "/" + strconv.Itoa(msg.Partition) + "/" + strconv.FormatInt(msg.Offset, 10)
	var ev shipment.Event
	decodeErr := shipment.Decode(msg.Value, &ev)
	if decodeErr == nil && ev.ID == "" {
		decodeErr = errors.New("event has no id")
	}
	if c.tier == Canonical {
		return c.handleCanonical(workCtx, msg, &ev, source, decodeErr)
	}
	return c.handleTier(ctx, workCtx, msg, &ev, source, decodeErr)
}

// handleCanonical submits one delivery per sink the routes pick for ev (none:
// the record is done at once); an undecodable record is dead-lettered.
func (c *Consumer) handleCanonical(workCtx context.Context, msg kafka.Message, ev *shipment.Event, source string, decodeErr error) error {
	if decodeErr != nil {
		return c.poison(workCtx, msg, retry.Meta{Sink: "-", Source: source, LastError: decodeErr.Error()}, retry.ReasonInvalidEvent)
	}
	sinks := c.table.MatchEvent(route.NewEvent(ev, msg.Value))
	rec := c.tr.Add(msg, len(sinks), c.release)
	for _, s := range sinks {
		c.eng.Submit(workCtx, s, &Job{
			Delivery: sink.Delivery{ID: sink.IdempotencyID(ev.ID, s), Key: msg.Key, Body: msg.Value, Event: ev, EventTime: msg.Time},
			Meta:     retry.Meta{Source: source},
			Tier:     Canonical, Done: rec.Done,
		})
	}
	return nil
}

// handleTier waits for the record's not-before, then submits its one delivery
// to the sink its headers name; a record without meta, for a sink the routes
// file no longer has, or with an undecodable event is dead-lettered.
func (c *Consumer) handleTier(ctx, workCtx context.Context, msg kafka.Message, ev *shipment.Event, source string, decodeErr error) error {
	meta, err := retry.ParseMeta(msg)
	if err != nil {
		return c.poison(workCtx, msg, retry.Meta{Sink: "-", Source: source, LastError: err.Error()}, retry.ReasonUnknownSink)
	}
	if !c.eng.Has(meta.Sink) {
		meta.LastError = "sink " + meta.Sink + " is not in the routes file"
		return c.poison(workCtx, msg, meta, retry.ReasonUnknownSink)
	}
	if decodeErr != nil {
		meta.LastError = decodeErr.Error()
		return c.poison(workCtx, msg, meta, retry.ReasonInvalidEvent)
	}
	// Wait for not-before. This runs on the record's partition queue (delayed), so
	// it holds back only later records of the same partition; records of one tier
	// share one delay, so they become due roughly in offset order anyway. kafka-go
	// heartbeats in the background, so the group session holds.
	if wait := time.Until(meta.NotBefore); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if meta.ID == "" {
		meta.ID = sink.IdempotencyID(ev.ID, meta.Sink)
	}
	eventTime := meta.EventTime
	if eventTime.IsZero() {
		eventTime = msg.Time
	}
	rec := c.tr.Add(msg, 1, c.release)
	c.eng.Submit(workCtx, meta.Sink, &Job{
		Delivery: sink.Delivery{ID: meta.ID, Key: msg.Key, Body: msg.Value, Event: ev, EventTime: eventTime},
		Meta:     meta, Tier: c.tier, Done: rec.Done,
	})
	return nil
}

// poison dead-letters a record nothing can deliver, then marks it done.
func (c *Consumer) poison(ctx context.Context, msg kafka.Message, m retry.Meta, reason string) error {
	c.log.Warn("record cannot be dispatched; dead-lettering", zap.String("reason", reason),
		zap.String("source", m.Source), zap.String("error", m.LastError))
	if err := c.eng.deadLetter(ctx, msg.Key, msg.Value, m, reason); err != nil {
		return err
	}
	c.tr.Add(msg, 0, c.release)
	return nil
}

// commitLoop commits done offsets every interval until ctx ends.
func (c *Consumer) commitLoop(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = c.Commit(cctx)
			cancel()
		}
	}
}

// Commit commits the done prefix of every partition in one request (plus what
// an earlier failed commit held back; see Tracker.Ready). With nothing to commit
// it sends nothing. Run calls it every CommitInterval and once at shutdown; it
// must not run concurrently with itself.
func (c *Consumer) Commit(ctx context.Context) error {
	msgs := c.tr.Ready()
	if len(msgs) == 0 {
		return nil
	}
	if err := c.r.CommitMessages(ctx, msgs...); err != nil {
		c.m.commits.WithLabelValues(c.name, "error").Inc()
		c.log.Error("committing offsets", zap.Error(err))
		return err
	}
	c.m.commits.WithLabelValues(c.name, "ok").Inc()
	c.tr.Committed(msgs)
	return nil
}

// Drain waits until every tracked record is done, or ctx ends (false).
func (c *Consumer) Drain(ctx context.Context) bool {
	for c.tr.Pending() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-c.tr.Idle():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return true
}
