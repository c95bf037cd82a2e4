package app

import (
	"errors"
	"time"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/logging"
)

// Config is the normalizer's configuration, read from the environment. README.md
// lists every variable with its default and meaning.
type Config struct {
	Kafka broker.Config
	Log   logging.Config

	RawTopic       string `env:"NORMALIZER_RAW_TOPIC" envDefault:"webhooks.raw.v1"`
	CanonicalTopic string `env:"NORMALIZER_CANONICAL_TOPIC" envDefault:"shipments.status.v1"`
	DLQTopic       string `env:"NORMALIZER_DLQ_TOPIC" envDefault:"webhooks.raw.dlq.v1"`
	Group          string `env:"NORMALIZER_GROUP" envDefault:"normalizer"`
	// CreateTopics creates missing topics at startup with TopicPartitions partitions
	// (existing topics are left alone). Off where topics are managed elsewhere.
	CreateTopics    bool `env:"NORMALIZER_CREATE_TOPICS" envDefault:"true"`
	TopicPartitions int  `env:"NORMALIZER_TOPIC_PARTITIONS" envDefault:"6"`

	RedisAddr     string        `env:"REDIS_ADDR" envDefault:"127.0.0.1:6379"`
	RedisPassword string        `env:"REDIS_PASSWORD" mask:"true"`
	RedisDB       int           `env:"REDIS_DB" envDefault:"0"`
	RedisPrefix   string        `env:"NORMALIZER_REDIS_PREFIX" envDefault:"normalizer:"`
	RedisTimeout  time.Duration `env:"NORMALIZER_REDIS_TIMEOUT" envDefault:"3s"`

	DedupTTL time.Duration `env:"NORMALIZER_DEDUP_TTL" envDefault:"168h"`
	StateTTL time.Duration `env:"NORMALIZER_STATE_TTL" envDefault:"720h"`
	// RedeliveryWindow: see consume.Config.RedeliveryWindow.
	RedeliveryWindow time.Duration `env:"NORMALIZER_REDELIVERY_WINDOW" envDefault:"10m"`

	BatchSize    int           `env:"NORMALIZER_BATCH_SIZE" envDefault:"1000"`
	BatchLinger  time.Duration `env:"NORMALIZER_BATCH_LINGER" envDefault:"5ms"`
	RetryMin     time.Duration `env:"NORMALIZER_RETRY_MIN" envDefault:"100ms"`
	RetryMax     time.Duration `env:"NORMALIZER_RETRY_MAX" envDefault:"10s"`
	WriteTimeout time.Duration `env:"NORMALIZER_WRITE_TIMEOUT" envDefault:"5s"`
	// Lease protects a batch in flight (package inflight); it must exceed twice the
	// write timeout, since an attempt may start producing up to Lease/2 after claiming.
	Lease          time.Duration `env:"NORMALIZER_INFLIGHT_LEASE" envDefault:"15s"`
	OffsetsRefresh time.Duration `env:"NORMALIZER_OFFSETS_REFRESH" envDefault:"1s"`
	// CommitInterval: see consume.Config.CommitInterval (0: after every batch).
	CommitInterval time.Duration `env:"NORMALIZER_COMMIT_INTERVAL" envDefault:"1s"`
	// FetchMaxWait is how long the broker holds a fetch of the raw topic that
	// finds nothing: an idle normalizer costs one fetch per FetchMaxWait per
	// broker; records are answered as soon as they arrive.
	FetchMaxWait time.Duration `env:"NORMALIZER_FETCH_MAX_WAIT" envDefault:"1s"`
	// FetchLinger: after a fetch that brought records, the reader waits this
	// long before the next one (broker.GroupReaderOptions.Linger): fewer,
	// fuller fetches and batches under load; no wait after a quiet spell.
	// 0 turns it off.
	FetchLinger time.Duration `env:"NORMALIZER_FETCH_LINGER" envDefault:"2ms"`

	// PprofAddr serves net/http/pprof on its own listener when set (profiling
	// only; bind it to loopback).
	PprofAddr string `env:"NORMALIZER_PPROF_ADDR"`

	// OpsAddr serves /healthz, /readyz and /metrics: loopback by default, on the
	// normalizer's own port of the services' scheme (gateway 9091, normalizer
	// 9094, dispatcher 9095), so the three run on one host with their defaults;
	// containers set 0.0.0.0:9091 explicitly for their probes.
	OpsAddr         string        `env:"NORMALIZER_OPS_ADDR" envDefault:"127.0.0.1:9094"`
	ShutdownTimeout time.Duration `env:"NORMALIZER_SHUTDOWN_TIMEOUT" envDefault:"30s"`

	Repair RepairConfig
}

// Validate checks the values env parsing cannot.
func (c *Config) Validate() error {
	return errors.Join(
		config.Check(len(c.Kafka.Brokers) > 0 && c.Kafka.Brokers[0] != "", "KAFKA_BROKERS", "at least one broker"),
		config.Check(c.RawTopic != "", "NORMALIZER_RAW_TOPIC", "a topic name"),
		config.Check(c.CanonicalTopic != "" && c.CanonicalTopic != c.RawTopic, "NORMALIZER_CANONICAL_TOPIC", "a topic name other than the raw topic"),
		config.Check(c.DLQTopic != "" && c.DLQTopic != c.RawTopic && c.DLQTopic != c.CanonicalTopic, "NORMALIZER_DLQ_TOPIC", "a topic name of its own"),
		config.Check(c.Group != "", "NORMALIZER_GROUP", "a consumer group id"),
		config.Check(c.TopicPartitions >= 1, "NORMALIZER_TOPIC_PARTITIONS", ">= 1"),
		config.Check(c.RedisAddr != "", "REDIS_ADDR", "host:port"),
		config.Check(c.RedisTimeout > 0, "NORMALIZER_REDIS_TIMEOUT", "> 0"),
		config.Check(c.DedupTTL >= time.Minute, "NORMALIZER_DEDUP_TTL", ">= 1m"),
		config.Check(c.RedeliveryWindow > 0 && c.RedeliveryWindow <= c.DedupTTL, "NORMALIZER_REDELIVERY_WINDOW", "> 0 and <= NORMALIZER_DEDUP_TTL"),
		config.Check(c.StateTTL >= time.Minute, "NORMALIZER_STATE_TTL", ">= 1m"),
		config.Check(c.BatchSize >= 1 && c.BatchSize <= 100000, "NORMALIZER_BATCH_SIZE", "1..100000"),
		config.Check(c.BatchLinger >= 0, "NORMALIZER_BATCH_LINGER", ">= 0"),
		config.Check(c.RetryMin > 0 && c.RetryMax >= c.RetryMin, "NORMALIZER_RETRY_MIN/MAX", "0 < min <= max"),
		config.Check(c.WriteTimeout > 0, "NORMALIZER_WRITE_TIMEOUT", "> 0"),
		config.Check(c.Lease > 2*c.WriteTimeout, "NORMALIZER_INFLIGHT_LEASE", "more than twice NORMALIZER_WRITE_TIMEOUT"),
		config.Check(c.OffsetsRefresh > 0 && c.OffsetsRefresh < c.Lease, "NORMALIZER_OFFSETS_REFRESH", "> 0 and < the lease"),
		config.Check(c.ShutdownTimeout > 0, "NORMALIZER_SHUTDOWN_TIMEOUT", "> 0"),
		config.Check(c.CommitInterval >= 0, "NORMALIZER_COMMIT_INTERVAL", ">= 0"),
		config.Check(c.FetchLinger >= 0 && c.FetchLinger <= time.Second, "NORMALIZER_FETCH_LINGER", "0..1s"),
		config.Check(c.FetchMaxWait >= 10*time.Millisecond && c.FetchMaxWait <= 30*time.Second, "NORMALIZER_FETCH_MAX_WAIT", "10ms..30s"),
		c.Repair.validate(),
	)
}
