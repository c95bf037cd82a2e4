package app

import (
	"errors"
	"time"

	"github.com/courierhook/pipeline/dispatcher/internal/deliver"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/logging"
)

// Config is the dispatcher's environment configuration. The routing rules and
// sink secrets live in the routes file (RoutesFile); "${VAR}" in that file is
// expanded from the environment.
type Config struct {
	Kafka broker.Config
	Log   logging.Config

	// RoutesFile is the YAML routing file (see routes.example.yaml).
	RoutesFile string `env:"DISPATCHER_ROUTES_FILE,required"`
	// Topic is the canonical topic consumed.
	Topic string `env:"DISPATCHER_TOPIC" envDefault:"shipments.status.v1"`
	// Group is the consumer group; retry tier consumers use Group+".retry."+tier.
	Group string `env:"DISPATCHER_GROUP" envDefault:"dispatcher"`
	// RetryDelays are the retry tiers, one topic each.
	RetryDelays []time.Duration `env:"DISPATCHER_RETRY_DELAYS" envSeparator:"," envDefault:"10s,1m,10m,1h"`
	// RetryJitter spreads each retry delay by ±this fraction.
	RetryJitter float64 `env:"DISPATCHER_RETRY_JITTER" envDefault:"0.2"`
	// RetryTopicPrefix prefixes the tier topics (prefix + "10s", ...).
	RetryTopicPrefix string `env:"DISPATCHER_RETRY_TOPIC_PREFIX" envDefault:"shipments.dispatch.retry."`
	// DLQTopic receives deliveries that exhausted their retries or failed permanently.
	DLQTopic string `env:"DISPATCHER_DLQ_TOPIC" envDefault:"shipments.dispatch.dlq.v1"`
	// CreateTopics creates the retry, DLQ and kafka-sink topics at start when missing.
	CreateTopics bool `env:"DISPATCHER_CREATE_TOPICS" envDefault:"true"`
	// TopicPartitions is the partition count of topics the dispatcher creates.
	TopicPartitions int `env:"DISPATCHER_TOPIC_PARTITIONS" envDefault:"6"`
	// MaxInFlight bounds records fetched but not yet done, per consumer. It is the
	// memory bound; deliveries never wait on it for a slow sink because full lanes
	// hand off at once.
	MaxInFlight int `env:"DISPATCHER_MAX_INFLIGHT" envDefault:"5000"`
	// CommitInterval is how often done offsets are committed (batched).
	// A crash re-delivers at most this interval's done records.
	CommitInterval time.Duration `env:"DISPATCHER_COMMIT_INTERVAL" envDefault:"1s"`
	// FetchMaxWait and RetryFetchMaxWait: see deliver.Config.FetchMaxWait.
	FetchMaxWait      time.Duration `env:"DISPATCHER_FETCH_MAX_WAIT" envDefault:"1s"`
	RetryFetchMaxWait time.Duration `env:"DISPATCHER_RETRY_FETCH_MAX_WAIT" envDefault:"5s"`
	// FetchLinger: see deliver.Config.FetchLinger.
	FetchLinger time.Duration `env:"DISPATCHER_FETCH_LINGER" envDefault:"5ms"`
	// ShutdownTimeout bounds the drain after SIGTERM: in-flight deliveries finish
	// or are handed off, offsets are committed, writers close.
	ShutdownTimeout time.Duration `env:"DISPATCHER_SHUTDOWN_TIMEOUT" envDefault:"30s"`
	// OpsAddr serves /healthz, /readyz and /metrics. Empty disables it.
	// Loopback by default, on the port of the services' ops scheme (gateway 9091,
	// normalizer 9094, dispatcher 9095) so all three run on one host; containers
	// set 0.0.0.0:9091 explicitly for their probes.
	OpsAddr string `env:"DISPATCHER_OPS_ADDR" envDefault:"127.0.0.1:9095"`
	// PprofAddr serves net/http/pprof on its own listener when set (profiling
	// only; bind it to loopback).
	PprofAddr string `env:"DISPATCHER_PPROF_ADDR"`
}

// delivery is the delivery runtime's part of the configuration.
func (c *Config) delivery() deliver.Config {
	return deliver.Config{Kafka: c.Kafka, Topic: c.Topic, Group: c.Group, MaxInFlight: c.MaxInFlight,
		CommitInterval: c.CommitInterval, ShutdownTimeout: c.ShutdownTimeout,
		FetchMaxWait: c.FetchMaxWait, TierFetchMaxWait: c.RetryFetchMaxWait, FetchLinger: c.FetchLinger}
}

// Validate checks values the environment parser cannot.
func (c *Config) Validate() error {
	return errors.Join(
		config.Check(len(c.Kafka.Brokers) > 0, "KAFKA_BROKERS", "at least one broker"),
		config.Check(c.Topic != "", "DISPATCHER_TOPIC", "a topic name"),
		config.Check(c.Group != "", "DISPATCHER_GROUP", "a group id"),
		config.Check(len(c.RetryDelays) > 0, "DISPATCHER_RETRY_DELAYS", "at least one delay, e.g. 10s,1m,10m,1h"),
		config.Check(c.RetryJitter >= 0 && c.RetryJitter < 1, "DISPATCHER_RETRY_JITTER", "a fraction in [0,1)"),
		config.Check(c.DLQTopic != "", "DISPATCHER_DLQ_TOPIC", "a topic name"),
		config.Check(c.MaxInFlight > 0, "DISPATCHER_MAX_INFLIGHT", "a positive number"),
		config.Check(c.CommitInterval > 0, "DISPATCHER_COMMIT_INTERVAL", "a positive duration"),
		config.Check(c.FetchLinger >= 0 && c.FetchLinger <= time.Second, "DISPATCHER_FETCH_LINGER", "0..1s"),
		config.Check(c.FetchMaxWait >= 10*time.Millisecond && c.FetchMaxWait <= 30*time.Second, "DISPATCHER_FETCH_MAX_WAIT", "10ms..30s"),
		config.Check(c.RetryFetchMaxWait >= 10*time.Millisecond && c.RetryFetchMaxWait <= 30*time.Second, "DISPATCHER_RETRY_FETCH_MAX_WAIT", "10ms..30s"),
		config.Check(c.ShutdownTimeout > 0, "DISPATCHER_SHUTDOWN_TIMEOUT", "a positive duration"),
		config.Check(c.TopicPartitions > 0, "DISPATCHER_TOPIC_PARTITIONS", "a positive number"),
	)
}
