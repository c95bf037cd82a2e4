package deliver

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Delivery outcomes (label "outcome" of dispatcher_deliveries_total).
const (
	outcomeDelivered    = "delivered"     // the sink accepted it
	outcomeRetried      = "retried"       // the attempt failed; handed to a retry tier
	outcomeBusy         = "busy"          // the sink's lane was full; handed to a retry tier unattempted
	outcomeBreakerOpen  = "breaker_open"  // the breaker refused it; handed to a retry tier
	outcomeDeadLettered = "dead_lettered" // written to the DLQ
	outcomeReplayed     = "replayed"      // re-sent from the DLQ by replay and accepted
)

// Metrics are the dispatcher's Prometheus series, all prefixed dispatcher_. One
// Metrics is shared by the Engine, every Consumer and replay; it is safe for
// concurrent use.
type Metrics struct {
	deliveries  *prometheus.CounterVec
	attempt     *prometheus.HistogramVec
	latency     *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	fetchErrors *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	breaker     *prometheus.GaugeVec
	inflight    *prometheus.GaugeVec
	records     *prometheus.CounterVec
	commits     *prometheus.CounterVec
	lag         *prometheus.GaugeVec
}

// NewMetrics creates the series and registers them with reg; a nil reg leaves
// them unregistered (tests, replay without an ops server). Registering twice
// with one registry panics, so a process builds one Metrics per registry.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_deliveries_total", Help: "Delivery attempts and hand-offs by sink and outcome.",
		}, []string{"sink", "outcome"}),
		attempt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dispatcher_attempt_duration_seconds", Help: "Duration of one delivery attempt by sink.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"sink"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dispatcher_dispatch_latency_seconds", Help: "Canonical record timestamp to successful delivery, by sink.",
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 14),
		}, []string{"sink"}),
		fetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_fetch_errors_total", Help: "Failed fetches (broker unreachable, group rejoining) retried with backoff, by consumer.",
		}, []string{"consumer"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_retries_total", Help: "Deliveries written to a retry tier, by tier.",
		}, []string{"tier"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_dead_letters_total", Help: "Deliveries written to the dispatch DLQ, by sink and reason.",
		}, []string{"sink", "reason"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dispatcher_breaker_state", Help: "Circuit breaker state by sink: 0 closed, 1 half-open, 2 open.",
		}, []string{"sink"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dispatcher_inflight", Help: "Delivery attempts in progress by sink.",
		}, []string{"sink"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_records_total", Help: "Records fetched by consumer (canonical or retry tier).",
		}, []string{"consumer"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dispatcher_commits_total", Help: "Offset commits by consumer and result.",
		}, []string{"consumer", "result"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dispatcher_consumer_lag",
			Help: "Records the consumer group has not committed yet (end offsets minus committed offsets), by topic: canonical and each retry tier.",
		}, []string{"topic"}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.attempt, m.latency, m.retries, m.fetchErrors, m.deadLetters, m.breaker, m.inflight, m.records, m.commits, m.lag)
	}
	return m
}

// Replayed counts one dead-lettered delivery that replay re-sent and its sink
// accepted (dispatcher_deliveries_total{outcome="replayed"}).
func (m *Metrics) Replayed(sinkName string) {
	m.deliveries.WithLabelValues(sinkName, outcomeReplayed).Inc()
}
