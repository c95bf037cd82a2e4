package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// Reader is the part of *kafka.Reader a consumer uses: fetch, then commit only
// what is done (never ReadMessage, which commits on read).
type Reader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// consumer runs one reader (the canonical topic, or one retry tier) into the engine.
type consumer struct {
	name     string
	r        Reader
	tier     int // -1: the canonical topic
	table    *route.Table
	eng      *engine
	tr       *tracker
	slots    chan struct{}
	interval time.Duration
	m        *metrics
	log      *zap.Logger
	// held are done offsets whose commit failed; they are retried with the next batch.
	held map[int]kafka.Message
}

func newConsumer(name string, r Reader, tier int, table *route.Table, eng *engine, cfg Config, m *metrics, log *zap.Logger) *consumer {
	return &consumer{
		name: name, r: r, tier: tier, table: table, eng: eng, tr: newTracker(),
		slots: make(chan struct{}, cfg.MaxInFlight), interval: cfg.CommitInterval,
		m: m, log: log.With(zap.String("consumer", name)), held: map[int]kafka.Message{},
	}
}

// fetch runs the fetch loop until ctx ends (stop fetching is the first shutdown
// step). workCtx bounds hand-off retries and outlives ctx during the drain.
//
// A tier consumer hands each record to its partition's queue (see delayed), so a
// record waiting for its not-before holds back only later records of its own
// partition. fetch returns after those queues have stopped.
func (c *consumer) fetch(ctx, workCtx context.Context) error {
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

func (c *consumer) release() { <-c.slots }

// handle turns one record into deliveries. It returns an error only when ctx
// ended before the record could be tracked; the record then stays uncommitted.
func (c *consumer) handle(ctx, workCtx context.Context, msg kafka.Message) error {
	source := msg.Topic + "/" + strconv.Itoa(msg.Partition) + "/" + strconv.FormatInt(msg.Offset, 10)
	var ev shipment.Event
	decodeErr := json.Unmarshal(msg.Value, &ev)
	if decodeErr == nil && ev.ID == "" {
		decodeErr = errors.New("event has no id")
	}
	if c.tier < 0 {
		if decodeErr != nil {
			return c.poison(workCtx, msg, retry.Meta{Sink: "-", Source: source, LastError: decodeErr.Error()}, retry.ReasonInvalidEvent)
		}
		sinks := c.table.MatchEvent(route.NewEvent(&ev, msg.Value))
		e := c.tr.add(msg, len(sinks), c.release)
		for _, s := range sinks {
			c.eng.submit(workCtx, s, &job{
				d:    sink.Delivery{ID: sink.IdempotencyID(ev.ID, s), Key: msg.Key, Body: msg.Value, Event: &ev, EventTime: msg.Time},
				meta: retry.Meta{Source: source},
				tier: -1, done: e.deliveryDone,
			})
		}
		return nil
	}
	meta, err := retry.ParseMeta(msg)
	if err != nil {
		return c.poison(workCtx, msg, retry.Meta{Sink: "-", Source: source, LastError: err.Error()}, retry.ReasonUnknownSink)
	}
	if _, ok := c.eng.sinks[meta.Sink]; !ok {
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
	e := c.tr.add(msg, 1, c.release)
	c.eng.submit(workCtx, meta.Sink, &job{
		d:    sink.Delivery{ID: meta.ID, Key: msg.Key, Body: msg.Value, Event: &ev, EventTime: eventTime},
		meta: meta, tier: c.tier, done: e.deliveryDone,
	})
	return nil
}

// poison dead-letters a record nothing can deliver, then marks it done.
func (c *consumer) poison(ctx context.Context, msg kafka.Message, m retry.Meta, reason string) error {
	c.log.Warn("record cannot be dispatched; dead-lettering", zap.String("reason", reason),
		zap.String("source", m.Source), zap.String("error", m.LastError))
	if err := c.eng.deadLetter(ctx, msg.Key, msg.Value, m, reason); err != nil {
		return err
	}
	c.tr.add(msg, 0, c.release)
	return nil
}

// commitLoop commits done offsets every interval until ctx ends.
func (c *consumer) commitLoop(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = c.commit(cctx)
			cancel()
		}
	}
}

// commit commits the done prefix of every partition in one request.
func (c *consumer) commit(ctx context.Context) error {
	for _, m := range c.tr.ready() {
		if h, ok := c.held[m.Partition]; !ok || m.Offset > h.Offset {
			c.held[m.Partition] = m
		}
	}
	if len(c.held) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, 0, len(c.held))
	for _, m := range c.held {
		msgs = append(msgs, m)
	}
	if err := c.r.CommitMessages(ctx, msgs...); err != nil {
		c.m.commits.WithLabelValues(c.name, "error").Inc()
		c.log.Error("committing offsets", zap.Error(err))
		return err
	}
	c.m.commits.WithLabelValues(c.name, "ok").Inc()
	c.tr.markCommitted(msgs)
	clear(c.held)
	return nil
}

// drain waits until every fetched record is done or ctx ends.
func (c *consumer) drain(ctx context.Context) bool {
	for c.tr.inflight() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-c.tr.idle:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return true
}

// delayed runs a tier consumer's records one partition queue at a time. Each
// partition has its own goroutine that handles its records in fetch order,
// waiting for each one's not-before; the fetch loop never waits, so a record due
// in an hour on partition 0 does not hold back a due record on partition 1.
//
// Commit safety rests on per-partition order: a record reaches the tracker only
// after every earlier record of its partition did, so the tracker's done prefix
// never skips one still waiting. When ctx ends, a queue stops at its head and
// drops the rest: none of them reached the tracker, so none is committed and all
// are fetched again after the restart. Memory stays bounded by the consumer's
// in-flight slots, which every queued record holds.
type delayed struct {
	c      *consumer
	queues map[int]*partitionQueue
	wg     sync.WaitGroup
}

// partitionQueue is one partition's FIFO of fetched records.
type partitionQueue struct {
	mu   sync.Mutex
	msgs []kafka.Message
	wake chan struct{} // capacity 1: "msgs may be non-empty"
}

func newDelayed(c *consumer) *delayed {
	return &delayed{c: c, queues: map[int]*partitionQueue{}}
}

// push appends msg to its partition's queue, starting the queue's goroutine on
// first use. Only the fetch loop calls it.
func (d *delayed) push(ctx, workCtx context.Context, msg kafka.Message) {
	if ctx.Err() != nil {
		d.c.release() // stopping: the partition goroutines may be gone
		return
	}
	q := d.queues[msg.Partition]
	if q == nil {
		q = &partitionQueue{wake: make(chan struct{}, 1)}
		d.queues[msg.Partition] = q
		d.wg.Go(func() { d.run(ctx, workCtx, q) })
	}
	q.mu.Lock()
	q.msgs = append(q.msgs, msg)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run handles q's records in order until ctx ends or a record cannot be handled
// (which happens only when ctx or workCtx ended).
func (d *delayed) run(ctx, workCtx context.Context, q *partitionQueue) {
	defer d.dropAll(q)
	for {
		q.mu.Lock()
		if len(q.msgs) == 0 {
			q.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		msg := q.msgs[0]
		q.msgs[0] = kafka.Message{}
		q.msgs = q.msgs[1:]
		q.mu.Unlock()
		if ctx.Err() != nil {
			d.c.release()
			return
		}
		if err := d.c.handle(ctx, workCtx, msg); err != nil {
			d.c.release()
			d.c.log.Debug("tier record left uncommitted at shutdown", zap.Int("partition", msg.Partition),
				zap.Int64("offset", msg.Offset), zap.Error(err))
			return
		}
	}
}

// dropAll releases the slots of records still queued; they stay uncommitted.
func (d *delayed) dropAll(q *partitionQueue) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range q.msgs {
		d.c.release()
	}
	q.msgs = nil
}

// wait returns when every partition goroutine has stopped.
func (d *delayed) wait() { d.wg.Wait() }
