package consume

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the consumer's Prometheus series, all prefixed normalizer_.
type Metrics struct {
	RecordsIn      *prometheus.CounterVec
	EventsOut      *prometheus.CounterVec
	Duplicates     *prometheus.CounterVec
	DeadLettered   *prometheus.CounterVec
	Unknown        *prometheus.CounterVec
	FieldsDropped  *prometheus.CounterVec
	NotAdvancing   *prometheus.CounterVec
	Retries        *prometheus.CounterVec
	Recovered      prometheus.Counter
	CommitFailures prometheus.Counter
	BatchSeconds   prometheus.Histogram
	BatchRecords   prometheus.Histogram
}

// NewMetrics creates the series and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RecordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalizer_records_in_total", Help: "Raw records processed (committed), by provider header.",
		}, []string{"provider"}),
		EventsOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalizer_events_out_total", Help: "Canonical events produced, by provider and canonical status.",
		}, []string{"provider", "status"}),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalizer_duplicates_dropped_total", Help: "Events not produced because they were already produced (dedup).",
		}, []string{"provider"}),
		DeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalizer_dead_lettered_total", Help: "Raw records sent to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		Unknown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalizer_unknown_status_total", Help: "Events whose provider status maps to the canonical unknown status.",
		}, []string{"provider"}),
		FieldsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalizer_fields_dropped_total",
			Help: "Non-essential fields left out of an event because their JSON type or value was unexpected, by provider (a registered name, else \"other\") and field.",
		}, []string{"provider", "field"}),
		NotAdvancing: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalizer_not_advancing_total", Help: "Events produced with data.advances=false (out of order or after a terminal state).",
		}, []string{"provider"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalizer_batch_retries_total", Help: "Batch attempts that failed transiently and were retried, by failing step.",
		}, []string{"step"}),
		Recovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "normalizer_recovered_marks_total", Help: "Event ids found in the canonical topic and marked while recovering an abandoned in-flight claim.",
		}),
		CommitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "normalizer_commit_failures_total", Help: "Offset commits that failed (the records are redelivered and deduplicated).",
		}),
		BatchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "normalizer_batch_duration_seconds", Help: "Time from a batch's first fetched record to its commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		BatchRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "normalizer_batch_records", Help: "Raw records per batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.RecordsIn, m.EventsOut, m.Duplicates, m.DeadLettered, m.Unknown, m.FieldsDropped,
			m.NotAdvancing, m.Retries, m.Recovered, m.CommitFailures, m.BatchSeconds, m.BatchRecords)
	}
	return m
}
