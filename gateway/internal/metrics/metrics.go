// Package metrics defines the gateway's Prometheus metrics in one place so the
// HTTP layer, the publisher and the composition root share one set.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the gateway's collectors. A nil *Metrics is not allowed; use New
// (tests can pass a fresh prometheus.NewRegistry()).
type Metrics struct {
	// Requests counts webhook requests by provider and outcome (accepted,
	// unauthorized, bad_json, too_large, method_not_allowed, not_found,
	// spool_full, error).
	Requests *prometheus.CounterVec
	// AckLatency is the time from request start to the ack, by path (kafka, spool, discard).
	AckLatency *prometheus.HistogramVec
	// PublishErrors counts failed Kafka writes by stage (direct: a request fell
	// back to the spool; forward: the forwarder will retry).
	PublishErrors *prometheus.CounterVec
	// AuthFailures counts refused requests by provider and reason
	// (not_configured, missing, mismatch, source_ip, replay).
	AuthFailures *prometheus.CounterVec
	// AuthVariant counts accepted requests by provider and matched auth variant.
	AuthVariant *prometheus.CounterVec
	// AuthSecret counts accepted requests by provider and the index of the
	// configured secret that matched ("0", "1", "0+1" with several checks):
	// during a rotation, the old secret can go once its index stops growing.
	AuthSecret *prometheus.CounterVec
	// ProduceRecords is the number of records per Kafka produce request (the
	// adaptive batch size); ProduceLatency the request's duration.
	ProduceRecords prometheus.Histogram
	ProduceLatency prometheus.Histogram
	// Forwarded counts spooled records the forwarder delivered to Kafka.
	Forwarded prometheus.Counter
	// Quarantined counts spooled records Kafka refused for good, moved to the
	// spool's quarantine directory for an operator to re-send.
	Quarantined prometheus.Counter
}

// New registers the metrics on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_requests_total", Help: "Webhook requests by provider and outcome.",
		}, []string{"provider", "outcome"}),
		AckLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_ack_latency_seconds",
			Help:    "Time from request received to durable ack, by path (kafka, spool, discard).",
			Buckets: []float64{.0005, .001, .002, .004, .008, .016, .032, .064, .128, .256, .512, 1, 2, 4},
		}, []string{"path"}),
		PublishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_publish_errors_total", Help: "Failed Kafka writes by stage (direct, forward).",
		}, []string{"stage"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_failures_total", Help: "Refused webhook requests (401) by provider and reason.",
		}, []string{"provider", "reason"}),
		AuthVariant: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_variant_total", Help: "Accepted requests by provider and the auth variant that matched.",
		}, []string{"provider", "variant"}),
		AuthSecret: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_secret_total", Help: "Accepted requests by provider and the index of the configured secret that matched (never the secret).",
		}, []string{"provider", "secret"}),
		ProduceRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gateway_kafka_produce_records", Help: "Records per Kafka produce request (adaptive batch size).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
		}),
		ProduceLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gateway_kafka_produce_seconds", Help: "Duration of Kafka produce requests (acks=all), retries included.",
			Buckets: []float64{.00025, .0005, .001, .002, .004, .008, .016, .032, .064, .128, .256, .512, 1, 2, 4, 10},
		}),
		Forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_spool_forwarded_total", Help: "Spooled records delivered to Kafka by the forwarder.",
		}),
		Quarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_spool_quarantined_total", Help: "Spooled records Kafka refused for good, moved to the spool's quarantine directory.",
		}),
	}
	reg.MustRegister(m.Requests, m.AckLatency, m.PublishErrors, m.AuthFailures, m.AuthVariant, m.AuthSecret, m.Forwarded, m.Quarantined, m.ProduceRecords, m.ProduceLatency)
	return m
}
