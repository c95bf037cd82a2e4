package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/gateway/internal/httpapi"
	"github.com/courierhook/pipeline/gateway/internal/metrics"
	"github.com/courierhook/pipeline/gateway/internal/spool"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
)

// ErrUnavailable means the record could be neither published nor spooled.
var ErrUnavailable = errors.New("record could not be made durable")

// Writer is the Kafka producer Durable needs (a *broker.Producer; a
// *kafka.Writer also fits). A nil error from WriteMessages must mean every
// message was acknowledged.
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
	// ForwardTimeout is how long the forwarder waits for one write before it
	// logs it as failed and backs off. The write itself is not abandoned: the
	// next attempt first waits for it to finish (see forward), so a hanging
	// broker never gets a second copy of a batch queued behind the first.
	ForwardTimeout time.Duration
}

// Durable is the publisher used in production (an httpapi.Publisher).
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

	// inflight is the forwarder's write that outlived its wait (only the
	// forwarder goroutine touches it).
	inflight *attempt
}

// attempt is one forwarder write running in its own goroutine.
type attempt struct {
	first, last spool.Pos // End of the first and last entry written
	done        chan struct{}
	err         error // set before done is closed
}

// errInFlight means a forwarder write did not finish within its wait; it is
// still running and the next write waits for it.
var errInFlight = errors.New("forward write still in flight")

// inflightLimit bounds a forwarder write that its Writer never ends on its own.
// broker.Producer ends every call within MaxAttempts × WriteTimeout (30 s by
// default); the limit only keeps a Writer that hangs forever from stopping the
// forwarder.
const inflightLimit = 5 * time.Minute

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
func (d *Durable) Publish(ctx context.Context, msg kafka.Message) (httpapi.Path, error) {
	ctx = context.WithoutCancel(ctx)
	d.gate.RLock()
	defer d.gate.RUnlock()
	if !d.spooling.Load() {
		wctx, cancel := context.WithTimeout(ctx, d.opts.AckTimeout)
		err := d.w.WriteMessages(wctx, msg)
		cancel()
		if err == nil {
			return httpapi.PathKafka, nil
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
		return httpapi.PathSpool, nil
	case errors.Is(err, spool.ErrFull), errors.Is(err, spool.ErrTooLarge):
		return httpapi.PathSpool, fmt.Errorf("%w: %w", httpapi.ErrSpoolFull, err)
	default:
		return httpapi.PathSpool, fmt.Errorf("%w: spooling: %w", ErrUnavailable, err)
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

// ToMessage turns a spooled record back into the Kafka message it was spooled from.
func ToMessage(r spool.Record) kafka.Message { return toMessage(r) }

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
//
// A record Kafka refuses for good (broker.RecordRejected: too large, invalid) would
// block everything behind it forever. After such an error the forwarder sends
// one record at a time from the head; the record that fails alone with a
// record-specific error goes to the spool's quarantine (never dropped) and the
// forwarder moves on. Every other error (broker down, auth, unknown topic,
// timeouts) is retried as before.
func (d *Durable) RunForwarder(ctx context.Context) error {
	// Retries wait 100 ms doubling to 5 s, each ±50 % (jitter: gateways that lost
	// Kafka together do not come back in step); a forwarded batch resets it.
	bo := &backoff.ExponentialBackOff{
		InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
	}
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	var pending []spool.Entry
	isolate := 0 // records left to send one by one: the last batch had a refused record
	for {
		if ctx.Err() != nil {
			return nil
		}
		if len(pending) == 0 {
			n := d.opts.ForwardBatch
			if isolate > 0 {
				n = 1
			}
			entries, err := d.sp.ReadBatch(n, 4<<20)
			if err != nil {
				if errors.Is(err, spool.ErrClosed) {
					return nil
				}
				d.log.Error("reading spool", zap.Error(err))
				if !sleep(ctx, bo.NextBackOff()) {
					return nil
				}
				continue
			}
			if len(entries) == 0 {
				isolate = 0
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
		err := d.forward(ctx, d.opts.ForwardTimeout, pending)
		if err != nil && broker.RecordRejected(err) {
			if len(pending) > 1 {
				// Some record of the batch is refused; find it one by one.
				isolate = len(pending)
				pending = nil
				continue
			}
			if qerr := d.quarantine(pending[0], err); qerr != nil {
				d.log.Error("quarantining a refused spool record; retrying", zap.Error(qerr))
				if !sleep(ctx, bo.NextBackOff()) {
					return nil
				}
				continue
			}
			isolate = max(isolate-1, 0)
			pending = nil
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.m.PublishErrors.WithLabelValues("forward").Inc()
			wait := bo.NextBackOff()
			d.log.Warn("forwarding spooled records failed; retrying",
				zap.Int("records", len(pending)), zap.Duration("backoff", wait), zap.Error(err))
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		bo.Reset()
		if err := d.sp.Commit(pending); err != nil {
			// Kafka has the records; failing to persist the cursor means they would be
			// sent again after a restart (duplicates, not loss).
			d.log.Error("committing spool cursor", zap.Error(err))
		}
		d.m.Forwarded.Add(float64(len(pending)))
		caughtUp := isolate == 0 && len(pending) < d.opts.ForwardBatch
		isolate = max(isolate-len(pending), 0)
		pending = nil
		if caughtUp {
			d.catchUp(ctx)
		}
	}
}

// forward writes entries and waits up to wait for Kafka's ack. At most one
// write is ever running: if the previous one outlived its wait (a broker hang:
// broker.Producer keeps the records queued through all its attempts), this call
// first waits for it, within the same wait, and reports errInFlight if it is
// still running. Re-queueing instead would stack a copy of the batch per retry
// in the producer (memory, duplicates). When that previous write ends up
// acknowledging exactly these entries, they count as written.
func (d *Durable) forward(ctx context.Context, wait time.Duration, entries []spool.Entry) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	first, last := entries[0].End, entries[len(entries)-1].End
	if a := d.inflight; a != nil {
		select {
		case <-a.done:
			d.inflight = nil
			if a.err == nil && a.first == first && a.last == last {
				return nil
			}
		case <-t.C:
			return fmt.Errorf("%w (previous attempt)", errInFlight)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	msgs := make([]kafka.Message, len(entries))
	for i, e := range entries {
		msgs[i] = toMessage(e.Record)
	}
	a := &attempt{first: first, last: last, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		wctx, cancel := context.WithTimeout(ctx, inflightLimit)
		defer cancel()
		a.err = d.w.WriteMessages(wctx, msgs...)
	}()
	select {
	case <-a.done:
		return a.err
	case <-t.C:
		d.inflight = a
		return fmt.Errorf("%w after %s", errInFlight, wait)
	case <-ctx.Done():
		d.inflight = a
		return ctx.Err()
	}
}

// quarantine moves the refused head record to the spool's quarantine and logs
// it (request id and provider, never the body).
func (d *Durable) quarantine(e spool.Entry, cause error) error {
	path, err := d.sp.Quarantine(e, cause.Error())
	if err != nil {
		return err
	}
	d.m.Quarantined.Inc()
	d.log.Error("kafka refused a spooled record for good; moved it to quarantine (re-send it: see gateway README)",
		zap.String("request_id", header(e.Record, schemas.HeaderRequestID)),
		zap.String("provider", header(e.Record, schemas.HeaderProvider)),
		zap.Int("bytes", len(e.Record.Value)), zap.String("file", path), zap.Error(cause))
	return nil
}

func header(r spool.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// catchUp switches back to direct Kafka writes. Under steady traffic the spool
// is never empty on its own (new records keep arriving while spooling), so once
// the forwarder is near the tail it briefly stops new publishes (the gate),
// forwards the few records left, and flips the mode with the spool empty. The
// pause is one Kafka write of at most one batch; if that write fails the mode
// stays spooling and nothing changes (a refused record is left for
// RunForwarder to quarantine).
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
		if err := d.forward(ctx, d.opts.AckTimeout, entries); err != nil {
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
func (Discard) Publish(context.Context, kafka.Message) (httpapi.Path, error) {
	return httpapi.PathDiscard, nil
}
