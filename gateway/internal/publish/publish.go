package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/gateway/internal/metrics"
	"github.com/courierhook/pipeline/gateway/internal/spool"
	"github.com/courierhook/pipeline/schemas"
)

// Path says how a record became durable; it is the ack-latency metric label.
type Path string

// The paths a record can take.
const (
	PathKafka   Path = "kafka"
	PathSpool   Path = "spool"
	PathDiscard Path = "discard"
)

var (
	// ErrSpoolFull means Kafka was unavailable and the spool has no room: the
	// caller answers 503 with Retry-After.
	ErrSpoolFull = errors.New("kafka unavailable and spool full")
	// ErrUnavailable means the record could be neither published nor spooled.
	ErrUnavailable = errors.New("record could not be made durable")
)

// Writer is the Kafka producer the publisher needs (a *Producer; a *kafka.Writer also fits). A nil
// error from WriteMessages must mean every message was acknowledged.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Options tunes Durable.
type Options struct {
	// AckTimeout bounds the direct Kafka write; past it the record is spooled.
	AckTimeout time.Duration
	// SpoolTimeout bounds waiting for the spool's fsync.
	SpoolTimeout time.Duration
	// ForwardBatch is how many spooled records the forwarder sends per write.
	ForwardBatch int
	// ForwardTimeout bounds one forwarder write.
	ForwardTimeout time.Duration
}

// Durable is the publisher used in production.
type Durable struct {
	w    Writer
	sp   *spool.Spool
	opts Options
	log  *zap.Logger
	m    *metrics.Metrics

	// gate orders the switch back from spooling to direct writes: every publish
	// holds it shared; the forwarder takes it exclusively to switch back, so no
	// append is in flight when it sees the spool empty.
	gate     sync.RWMutex
	spooling atomic.Bool
}

// NewDurable returns a Durable over w and sp. If sp already holds records (a
// previous run), it starts in spooling mode.
func NewDurable(w Writer, sp *spool.Spool, opts Options, m *metrics.Metrics, log *zap.Logger) *Durable {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 2 * time.Second
	}
	if opts.SpoolTimeout <= 0 {
		opts.SpoolTimeout = 10 * time.Second
	}
	if opts.ForwardBatch <= 0 {
		opts.ForwardBatch = 500
	}
	if opts.ForwardTimeout <= 0 {
		opts.ForwardTimeout = 10 * time.Second
	}
	d := &Durable{w: w, sp: sp, opts: opts, log: log, m: m}
	d.spooling.Store(sp.Len() > 0)
	return d
}

// Spooling reports whether new records currently go to the spool.
func (d *Durable) Spooling() bool { return d.spooling.Load() }

// Publish makes msg durable and reports the path it took. The request's
// cancellation does not abort it: once started, the record is either acked by
// Kafka or spooled (a client hanging up must not leave a half-done publish).
func (d *Durable) Publish(ctx context.Context, msg kafka.Message) (Path, error) {
	ctx = context.WithoutCancel(ctx)
	d.gate.RLock()
	defer d.gate.RUnlock()
	if !d.spooling.Load() {
		wctx, cancel := context.WithTimeout(ctx, d.opts.AckTimeout)
		err := d.w.WriteMessages(wctx, msg)
		cancel()
		if err == nil {
			return PathKafka, nil
		}
		d.m.PublishErrors.WithLabelValues("direct").Inc()
		if !d.spooling.Swap(true) {
			d.log.Warn("kafka write failed or timed out; spooling to disk until it recovers", zap.Error(err))
		}
	}
	// A direct write that timed out may still land in Kafka later: the spooled
	// copy is then a duplicate, which the normalizer's dedup removes.
	sctx, cancel := context.WithTimeout(ctx, d.opts.SpoolTimeout)
	defer cancel()
	err := d.sp.Append(sctx, toRecord(msg))
	switch {
	case err == nil:
		return PathSpool, nil
	case errors.Is(err, spool.ErrFull), errors.Is(err, spool.ErrTooLarge):
		return PathSpool, fmt.Errorf("%w: %w", ErrSpoolFull, err)
	default:
		return PathSpool, fmt.Errorf("%w: spooling: %w", ErrUnavailable, err)
	}
}

func toRecord(m kafka.Message) spool.Record {
	r := spool.Record{Key: m.Key, Value: m.Value, Headers: make([]spool.Header, 0, len(m.Headers)+1)}
	for _, h := range m.Headers {
		r.Headers = append(r.Headers, spool.Header{Key: h.Key, Value: h.Value})
	}
	r.Headers = append(r.Headers, spool.Header{Key: schemas.HeaderSpooled, Value: []byte("true")})
	return r
}

func toMessage(r spool.Record) kafka.Message {
	m := kafka.Message{Key: r.Key, Value: r.Value, Headers: make([]kafka.Header, 0, len(r.Headers))}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	return m
}

// RunForwarder drains the spool to Kafka, in order, until ctx ends. A batch is
// committed (deleted from the spool) only after Kafka acknowledged all of it; a
// failed batch is retried with backoff, so a record may reach Kafka twice but
// never out of order relative to later records of the same key.
func (d *Durable) RunForwarder(ctx context.Context) error {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	var pending []spool.Entry
	for {
		if ctx.Err() != nil {
			return nil
		}
		if len(pending) == 0 {
			entries, err := d.sp.ReadBatch(d.opts.ForwardBatch, 4<<20)
			if err != nil {
				if errors.Is(err, spool.ErrClosed) {
					return nil
				}
				d.log.Error("reading spool", zap.Error(err))
				if !sleep(ctx, backoff) {
					return nil
				}
				continue
			}
			if len(entries) == 0 {
				d.catchUp(ctx)
				select {
				case <-ctx.Done():
					return nil
				case <-d.sp.Notify():
				case <-idle.C:
				}
				continue
			}
			pending = entries
		}
		msgs := make([]kafka.Message, len(pending))
		for i, e := range pending {
			msgs[i] = toMessage(e.Record)
		}
		wctx, cancel := context.WithTimeout(ctx, d.opts.ForwardTimeout)
		err := d.w.WriteMessages(wctx, msgs...)
		cancel()
		if err != nil {
			d.m.PublishErrors.WithLabelValues("forward").Inc()
			d.log.Warn("forwarding spooled records failed; retrying",
				zap.Int("records", len(msgs)), zap.Duration("backoff", backoff), zap.Error(err))
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
		if err := d.sp.Commit(pending); err != nil {
			// Kafka has the records; failing to persist the cursor means they would be
			// sent again after a restart (duplicates, not loss).
			d.log.Error("committing spool cursor", zap.Error(err))
		}
		d.m.Forwarded.Add(float64(len(pending)))
		caughtUp := len(pending) < d.opts.ForwardBatch
		pending = nil
		if caughtUp {
			d.catchUp(ctx)
		}
	}
}

// catchUp switches back to direct Kafka writes. Under steady traffic the spool
// is never empty on its own (new records keep arriving while spooling), so once
// the forwarder is near the tail it briefly stops new publishes (the gate),
// forwards the few records left, and flips the mode with the spool empty. The
// pause is one Kafka write of at most one batch; if that write fails the mode
// stays spooling and nothing changes.
func (d *Durable) catchUp(ctx context.Context) {
	if !d.spooling.Load() {
		return
	}
	d.gate.Lock()
	defer d.gate.Unlock()
	for ctx.Err() == nil {
		entries, err := d.sp.ReadBatch(d.opts.ForwardBatch, 4<<20)
		if err != nil {
			return
		}
		if len(entries) == 0 {
			if d.sp.Len() == 0 && d.spooling.Swap(false) {
				d.log.Info("spool drained; publishing directly to kafka again")
			}
			return
		}
		msgs := make([]kafka.Message, len(entries))
		for i, e := range entries {
			msgs[i] = toMessage(e.Record)
		}
		wctx, cancel := context.WithTimeout(ctx, d.opts.AckTimeout)
		err = d.w.WriteMessages(wctx, msgs...)
		cancel()
		if err != nil {
			d.m.PublishErrors.WithLabelValues("forward").Inc()
			return
		}
		if err := d.sp.Commit(entries); err != nil {
			d.log.Error("committing spool cursor", zap.Error(err))
			return
		}
		d.m.Forwarded.Add(float64(len(entries)))
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Discard drops every record after all checks passed. It exists only as the
// benchmark baseline (GATEWAY_PUBLISH=false): acknowledged webhooks are lost.
type Discard struct{}

// Publish drops msg.
func (Discard) Publish(context.Context, kafka.Message) (Path, error) { return PathDiscard, nil }
