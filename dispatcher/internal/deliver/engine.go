package deliver

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
)

// Sink delivers one event to one destination, making exactly one attempt.
// Implementations must be safe for concurrent use, honour ctx, and wrap errors
// that no retry can fix with sink.Permanent. The sink package's HTTP, Chat and
// Kafka satisfy it.
type Sink interface {
	Deliver(ctx context.Context, d sink.Delivery) error
}

// ErrBusy is the hand-off cause (dispatch_last_error) when a delivery finds its
// lane's queue full. It is not a failed attempt: the attempt count stays.
var ErrBusy = errors.New("sink busy: lane queue full")

// Canonical is the tier of a record read from the canonical topic; retry tiers
// are numbered from 0.
const Canonical = -1

// Job is one (record, sink) delivery.
type Job struct {
	// Delivery is what the sink receives; its Attempt is set by the engine.
	Delivery sink.Delivery
	// Meta describes earlier failures; zero for a first attempt.
	Meta retry.Meta
	// Tier is the tier the record came from, Canonical for the canonical topic.
	// A failed delivery goes to tier Tier+1, or to the DLQ after the last tier.
	Tier int
	// Done is called exactly once, when the delivery succeeded or is durably
	// handed off; never when the hand-off gave up because its context ended.
	Done func()
}

// sinkLanes are one sink's lanes: each runs the deliveries for a subset of keys,
// one at a time.
type sinkLanes struct {
	name    string
	s       Sink
	timeout time.Duration
	cb      *gobreaker.CircuitBreaker[struct{}]
	lanes   []chan *Job
}

// Engine owns every sink's lanes and breaker and the retry publisher. Submit is
// safe for concurrent use; every Job submitted ends with its Done called once,
// unless the context given to Submit/Start ends first (the record then stays
// uncommitted and is fetched again after a restart).
type Engine struct {
	sinks map[string]*sinkLanes
	pub   *retry.Publisher
	m     *Metrics
	log   *zap.Logger
	wg    sync.WaitGroup
}

// NewEngine builds the lanes and breaker of every sink in specs (validated by
// route.Parse: concurrency, queue and breaker set) around the sink of the same
// name in built. Failed deliveries go through pub. A nil m or log records
// nothing. It starts nothing; see Start.
func NewEngine(specs map[string]route.SinkSpec, built map[string]Sink, pub *retry.Publisher, m *Metrics, log *zap.Logger) *Engine {
	if log == nil {
		log = zap.NewNop()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	e := &Engine{sinks: map[string]*sinkLanes{}, pub: pub, m: m, log: log}
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
			sl.lanes = append(sl.lanes, make(chan *Job, spec.Queue))
		}
		e.sinks[name] = sl
	}
	return e
}

// Start runs every lane until ctx ends. ctx is the work context: it outlives the
// fetch loops so queued deliveries finish during the drain. Call it once.
func (e *Engine) Start(ctx context.Context) {
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

// Wait returns when every lane has stopped (after Start's ctx ended).
func (e *Engine) Wait() { e.wg.Wait() }

// Has reports whether name is one of the engine's sinks.
func (e *Engine) Has(name string) bool {
	_, ok := e.sinks[name]
	return ok
}

// Submit queues j on the lane of sink name that its key maps to, without
// blocking. A full lane hands j off to the next retry tier in the background
// (cause ErrBusy): a hanging sink never stalls the fetch loop. ctx bounds that
// hand-off's retries. name must be one of the engine's sinks (Has).
func (e *Engine) Submit(ctx context.Context, name string, j *Job) {
	sl := e.sinks[name]
	ch := sl.lanes[sl.lane(j.Delivery.Key)]
	select {
	case ch <- j:
	default:
		go e.handoff(ctx, sl, j, ErrBusy, outcomeBusy)
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
func (e *Engine) attempt(ctx context.Context, sl *sinkLanes, j *Job) {
	j.Delivery.Attempt = j.Meta.Attempt + 1
	actx, cancel := context.WithTimeout(ctx, sl.timeout)
	g := e.m.inflight.WithLabelValues(sl.name)
	g.Inc()
	start := time.Now()
	_, err := sl.cb.Execute(func() (struct{}, error) { return struct{}{}, sl.s.Deliver(actx, j.Delivery) })
	took := time.Since(start)
	g.Dec()
	cancel()
	if !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
		e.m.attempt.WithLabelValues(sl.name).Observe(took.Seconds())
	}
	switch {
	case err == nil:
		e.m.deliveries.WithLabelValues(sl.name, outcomeDelivered).Inc()
		if !j.Delivery.EventTime.IsZero() {
			e.m.latency.WithLabelValues(sl.name).Observe(time.Since(j.Delivery.EventTime).Seconds())
		}
		j.Done()
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
func (e *Engine) handoff(ctx context.Context, sl *sinkLanes, j *Job, cause error, outcome string) {
	m := j.Meta
	m.Sink, m.ID = sl.name, j.Delivery.ID
	if cause != ErrBusy && !errors.Is(cause, gobreaker.ErrOpenState) && !errors.Is(cause, gobreaker.ErrTooManyRequests) {
		m.Attempt++
	}
	if m.FirstFailure.IsZero() {
		m.FirstFailure = time.Now()
	}
	m.LastError = cause.Error()
	m.EventTime = j.Delivery.EventTime
	log := e.log.With(zap.String("sink", sl.name), zap.String("idempotency_id", j.Delivery.ID), zap.Int("attempt", m.Attempt), zap.Error(cause))
	bo := writeBackOff()
	for {
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var (
			res retry.Result
			err error
		)
		if sink.IsPermanent(cause) {
			res = retry.Result{Tier: -1, Reason: retry.ReasonPermanent}
			err = e.pub.DeadLetter(wctx, j.Delivery.Key, j.Delivery.Body, m, retry.ReasonPermanent)
		} else {
			res, err = e.pub.Handoff(wctx, j.Delivery.Key, j.Delivery.Body, m, j.Tier+1)
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
			j.Done()
			return
		}
		log.Error("handing delivery off failed; retrying", zap.NamedError("handoff_error", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(bo.NextBackOff()):
		}
	}
}

// deadLetter writes a record that cannot be delivered at all (undecodable event,
// unknown sink) to the DLQ, retrying the write until ctx ends.
func (e *Engine) deadLetter(ctx context.Context, key, value []byte, m retry.Meta, reason string) error {
	bo := writeBackOff()
	for {
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
		case <-time.After(bo.NextBackOff()):
		}
	}
}

// writeBackOff paces retries of a retry-tier or DLQ write: 50 ms doubling to 5 s,
// each wait ±50 % so that workers that failed together do not retry in step.
func writeBackOff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval: 50 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
	}
}
