package app

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
)

// Sink delivers one event to one destination, making exactly one attempt.
// Implementations must be safe for concurrent use, honour ctx, and wrap errors
// that no retry can fix with sink.Permanent.
type Sink interface {
	Deliver(ctx context.Context, d sink.Delivery) error
}

// errBusy is the hand-off reason when a delivery finds its lane's queue full.
var errBusy = errors.New("sink busy: lane queue full")

// job is one (record, sink) delivery.
type job struct {
	d sink.Delivery
	// meta describes earlier failures; zero for a first attempt.
	meta retry.Meta
	// tier is the tier the record came from, -1 for the canonical topic.
	tier int
	// done is called exactly once, when the delivery succeeded or is durably handed off.
	done func()
}

// sinkLanes are one sink's lanes: each runs the deliveries for a subset of keys,
// one at a time.
type sinkLanes struct {
	name    string
	s       Sink
	timeout time.Duration
	cb      *gobreaker.CircuitBreaker[struct{}]
	lanes   []chan *job
}

// engine owns every sink's lanes and the retry publisher.
type engine struct {
	sinks map[string]*sinkLanes
	pub   *retry.Publisher
	m     *metrics
	log   *zap.Logger
	wg    sync.WaitGroup
}

func newEngine(specs map[string]route.SinkSpec, built map[string]Sink, pub *retry.Publisher, m *metrics, log *zap.Logger) *engine {
	e := &engine{sinks: map[string]*sinkLanes{}, pub: pub, m: m, log: log}
	for name, spec := range specs {
		sl := &sinkLanes{name: name, s: built[name], timeout: spec.Timeout}
		failures := spec.Breaker.Failures
		sl.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        name,
			MaxRequests: spec.Breaker.HalfOpenRequests,
			Timeout:     spec.Breaker.OpenFor,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
			// A permanent error means the receiver is up and answering: not a breaker failure.
			IsSuccessful: func(err error) bool { return err == nil || sink.IsPermanent(err) },
			OnStateChange: func(name string, from, to gobreaker.State) {
				m.breaker.WithLabelValues(name).Set(float64(to))
				log.Warn("circuit breaker state changed", zap.String("sink", name), zap.Stringer("from", from), zap.Stringer("to", to))
			},
		})
		m.breaker.WithLabelValues(name).Set(0)
		m.inflight.WithLabelValues(name).Set(0)
		for range spec.Concurrency {
			sl.lanes = append(sl.lanes, make(chan *job, spec.Queue))
		}
		e.sinks[name] = sl
	}
	return e
}

// start runs every lane until ctx ends. ctx is the work context: it outlives the
// fetch loops so queued deliveries finish during the drain.
func (e *engine) start(ctx context.Context) {
	for _, sl := range e.sinks {
		for _, ch := range sl.lanes {
			e.wg.Go(func() {
				for {
					select {
					case <-ctx.Done():
						return
					case j := <-ch:
						e.attempt(ctx, sl, j)
					}
				}
			})
		}
	}
}

// wait returns when every lane has stopped.
func (e *engine) wait() { e.wg.Wait() }

// submit queues j on its lane without blocking. A full lane hands j off to the
// next retry tier in the background: a hanging sink never stalls the fetch loop.
func (e *engine) submit(ctx context.Context, name string, j *job) {
	sl := e.sinks[name]
	ch := sl.lanes[sl.lane(j.d.Key)]
	select {
	case ch <- j:
	default:
		go e.handoff(ctx, sl, j, errBusy, outcomeBusy)
	}
}

// lane is the index of the lane for key: FNV-1a of the key modulo the lane
// count, so one shipment's deliveries to a sink queue behind each other.
func (sl *sinkLanes) lane(key []byte) int {
	h := fnv.New32a()
	_, _ = h.Write(key)
	return int(h.Sum32() % uint32(len(sl.lanes)))
}

// attempt makes one delivery attempt under the sink's timeout and breaker.
func (e *engine) attempt(ctx context.Context, sl *sinkLanes, j *job) {
	j.d.Attempt = j.meta.Attempt + 1
	actx, cancel := context.WithTimeout(ctx, sl.timeout)
	g := e.m.inflight.WithLabelValues(sl.name)
	g.Inc()
	start := time.Now()
	_, err := sl.cb.Execute(func() (struct{}, error) { return struct{}{}, sl.s.Deliver(actx, j.d) })
	took := time.Since(start)
	g.Dec()
	cancel()
	if !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
		e.m.attempt.WithLabelValues(sl.name).Observe(took.Seconds())
	}
	switch {
	case err == nil:
		e.m.deliveries.WithLabelValues(sl.name, outcomeDelivered).Inc()
		if !j.d.EventTime.IsZero() {
			e.m.latency.WithLabelValues(sl.name).Observe(time.Since(j.d.EventTime).Seconds())
		}
		j.done()
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		e.handoff(ctx, sl, j, err, outcomeBreakerOpen)
	default:
		e.handoff(ctx, sl, j, err, outcomeRetried)
	}
}

// handoff writes a failed delivery to the next tier (or the DLQ for permanent
// errors and after the last tier) and calls done once the write is durable. The
// write is retried until it succeeds or ctx ends; in the latter case done is not
// called, the record stays uncommitted and is fetched again after a restart.
func (e *engine) handoff(ctx context.Context, sl *sinkLanes, j *job, cause error, outcome string) {
	m := j.meta
	m.Sink, m.ID = sl.name, j.d.ID
	if cause != errBusy && !errors.Is(cause, gobreaker.ErrOpenState) && !errors.Is(cause, gobreaker.ErrTooManyRequests) {
		m.Attempt++
	}
	if m.FirstFailure.IsZero() {
		m.FirstFailure = time.Now()
	}
	m.LastError = cause.Error()
	m.EventTime = j.d.EventTime
	log := e.log.With(zap.String("sink", sl.name), zap.String("idempotency_id", j.d.ID), zap.Int("attempt", m.Attempt), zap.Error(cause))
	for backoff := 50 * time.Millisecond; ; backoff = min(backoff*2, 5*time.Second) {
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var (
			res retry.Result
			err error
		)
		if sink.IsPermanent(cause) {
			res = retry.Result{Tier: -1, Reason: retry.ReasonPermanent}
			err = e.pub.DeadLetter(wctx, j.d.Key, j.d.Body, m, retry.ReasonPermanent)
		} else {
			res, err = e.pub.Handoff(wctx, j.d.Key, j.d.Body, m, j.tier+1)
		}
		cancel()
		if err == nil {
			if res.Tier < 0 {
				e.m.deliveries.WithLabelValues(sl.name, outcomeDeadLettered).Inc()
				e.m.deadLetters.WithLabelValues(sl.name, res.Reason).Inc()
				log.Warn("delivery dead-lettered", zap.String("reason", res.Reason))
			} else {
				e.m.deliveries.WithLabelValues(sl.name, outcome).Inc()
				e.m.retries.WithLabelValues(retry.Label(e.pub.Tiers().Delay(res.Tier))).Inc()
				log.Debug("delivery handed to retry tier", zap.Int("tier", res.Tier), zap.String("outcome", outcome))
			}
			j.done()
			return
		}
		log.Error("handing delivery off failed; retrying", zap.NamedError("handoff_error", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// deadLetter writes a record that cannot be delivered at all (undecodable event,
// unknown sink) to the DLQ, retrying the write until ctx ends.
func (e *engine) deadLetter(ctx context.Context, key, value []byte, m retry.Meta, reason string) error {
	for backoff := 50 * time.Millisecond; ; backoff = min(backoff*2, 5*time.Second) {
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := e.pub.DeadLetter(wctx, key, value, m, reason)
		cancel()
		if err == nil {
			e.m.deadLetters.WithLabelValues(m.Sink, reason).Inc()
			return nil
		}
		e.log.Error("dead-lettering record failed; retrying", zap.String("reason", reason), zap.Error(err))
		select {
		case <-ctx.Done():
			return fmt.Errorf("dead-lettering record: %w", ctx.Err())
		case <-time.After(backoff):
		}
	}
}
