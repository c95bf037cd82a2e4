package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
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
func (c *consumer) fetch(ctx, workCtx context.Context) error {
	for {
		msg, err := c.r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetching from %s: %w", c.name, err)
		}
		c.m.records.WithLabelValues(c.name).Inc()
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return nil
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
		var doc map[string]any
		_ = json.Unmarshal(msg.Value, &doc)
		sinks := c.table.Match(doc)
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
	// Wait for not-before. Records of one tier share one delay, so they become due
	// roughly in offset order and waiting on the head does not delay later ones
	// much. kafka-go heartbeats in the background, so the group session holds.
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
