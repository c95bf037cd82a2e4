package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/courierhook/pipeline/gateway/internal/provider"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/logging"
)

// recordHeadroom is what a record may need beyond its body: key, headers, framing.
const recordHeadroom = 64 << 10

// Config is the gateway's whole configuration (README "Configuration"). Load
// it with LoadConfig: config.Load alone leaves Providers empty.
type Config struct {
	Log   logging.Config
	Kafka broker.Config

	Addr string `env:"GATEWAY_ADDR" envDefault:"127.0.0.1:8080"`
	// OpsAddr serves /healthz, /readyz and /metrics: loopback by default, so
	// they are never exposed beside the webhooks by accident; containers set
	// 0.0.0.0:9091 explicitly for their probes.
	OpsAddr         string        `env:"GATEWAY_OPS_ADDR" envDefault:"127.0.0.1:9091"`
	Topic           string        `env:"GATEWAY_RAW_TOPIC" envDefault:"webhooks.raw.v1"`
	TopicPartitions int           `env:"GATEWAY_RAW_TOPIC_PARTITIONS" envDefault:"6"`
	MaxBodyBytes    int64         `env:"GATEWAY_MAX_BODY_BYTES" envDefault:"524288"`
	AckTimeout      time.Duration `env:"GATEWAY_ACK_TIMEOUT" envDefault:"2s"`
	MaxBatchBytes   int64         `env:"GATEWAY_KAFKA_MAX_BATCH_BYTES" envDefault:"1048576"`
	Compression     string        `env:"GATEWAY_KAFKA_COMPRESSION" envDefault:"snappy"`
	// KafkaLinger: once the raw topic's producer is busy (a produce request
	// carried more than one webhook), its next request starts no sooner than
	// this after the last one (broker.ProducerOptions.Linger); at low load
	// every webhook is sent at once.
	KafkaLinger     time.Duration `env:"GATEWAY_KAFKA_LINGER" envDefault:"2ms"`
	SpoolDir        string        `env:"GATEWAY_SPOOL_DIR" envDefault:"./data/spool"`
	SpoolMaxBytes   int64         `env:"GATEWAY_SPOOL_MAX_BYTES" envDefault:"268435456"`
	SpoolSegment    int64         `env:"GATEWAY_SPOOL_SEGMENT_BYTES" envDefault:"16777216"`
	RetryAfter      time.Duration `env:"GATEWAY_RETRY_AFTER" envDefault:"30s"`
	ShutdownTimeout time.Duration `env:"GATEWAY_SHUTDOWN_TIMEOUT" envDefault:"25s"`
	Publish         bool          `env:"GATEWAY_PUBLISH" envDefault:"true"`
	ProvidersFile   string        `env:"GATEWAY_PROVIDERS_FILE"`
	// MaxConnections caps the webhook listener's open connections; further
	// clients wait in the kernel's accept queue. With BodyReadTimeout and the
	// 16 KiB initial body buffer it bounds what unauthenticated clients can
	// hold.
	MaxConnections int `env:"GATEWAY_MAX_CONNECTIONS" envDefault:"1024"`
	// BodyReadTimeout bounds reading one request body.
	BodyReadTimeout time.Duration `env:"GATEWAY_BODY_READ_TIMEOUT" envDefault:"10s"`
	// TrustedProxies are the CIDRs of proxies (ingress, load balancer) whose
	// X-Forwarded-For is believed for source allowlists.
	TrustedProxies []string `env:"GATEWAY_TRUSTED_PROXIES" envSeparator:","`
	// PprofAddr serves net/http/pprof on its own listener when set (profiling
	// only; bind it to loopback).
	PprofAddr string `env:"GATEWAY_PPROF_ADDR"`

	// Providers holds each table provider's secrets from its
	// GATEWAY_<NAME>_* variables (provider.SecretsFromEnv; LoadConfig fills
	// it), by provider name. The providers file is merged in by Secrets.
	Providers map[string]provider.Secrets
}

// LoadConfig reads Config from environ (nil: the process environment), the
// per-provider secrets included, and validates it.
func LoadConfig(environ map[string]string) (Config, error) {
	cfg, err := config.LoadFrom[Config](environ)
	if err != nil {
		return cfg, err
	}
	if cfg.Providers, err = provider.SecretsFromEnv(environ); err != nil {
		return cfg, fmt.Errorf("reading configuration from the environment: %w", err)
	}
	return cfg, nil
}

// Validate checks the values the gateway cannot run without and reports
// every problem at once.
func (c *Config) Validate() error {
	return errors.Join(
		config.Check(c.Addr != "", "GATEWAY_ADDR", "a listen address"),
		config.Check(c.Topic != "", "GATEWAY_RAW_TOPIC", "a topic name"),
		config.Check(c.MaxBodyBytes > 0, "GATEWAY_MAX_BODY_BYTES", "> 0"),
		config.Check(c.AckTimeout > 0, "GATEWAY_ACK_TIMEOUT", "> 0"),
		// A record must fit in one produce request with its headers, and under the
		// broker's message.max.bytes (1 MiB by default): a record the broker refuses
		// for good would sit at the head of the spool forever.
		config.Check(c.MaxBatchBytes >= c.MaxBodyBytes+recordHeadroom, "GATEWAY_KAFKA_MAX_BATCH_BYTES",
			">= GATEWAY_MAX_BODY_BYTES + 64 KiB for headers"),
		config.Check(c.KafkaLinger >= 0 && c.KafkaLinger <= time.Second, "GATEWAY_KAFKA_LINGER", "0..1s"),
		config.Check(c.Compression == "snappy" || c.Compression == "lz4" || c.Compression == "none", "GATEWAY_KAFKA_COMPRESSION", "snappy, lz4 or none"),
		config.Check(!c.Publish || c.SpoolDir != "", "GATEWAY_SPOOL_DIR", "a directory"),
		config.Check(c.SpoolMaxBytes >= 1<<20, "GATEWAY_SPOOL_MAX_BYTES", ">= 1 MiB"),
		config.Check(c.SpoolSegment >= 64<<10 && c.SpoolSegment <= c.SpoolMaxBytes, "GATEWAY_SPOOL_SEGMENT_BYTES", ">= 64 KiB and <= GATEWAY_SPOOL_MAX_BYTES"),
		config.Check(c.ShutdownTimeout > 0, "GATEWAY_SHUTDOWN_TIMEOUT", "> 0"),
		config.Check(c.MaxConnections > 0, "GATEWAY_MAX_CONNECTIONS", "> 0"),
		config.Check(c.BodyReadTimeout > 0, "GATEWAY_BODY_READ_TIMEOUT", "> 0"),
		config.Check(!c.Publish || len(c.Kafka.Brokers) > 0, "KAFKA_BROKERS", "at least one broker"),
	)
}

// Secrets returns the per-provider secrets: the providers file (if any) with
// non-empty environment values (Providers) on top.
func (c *Config) Secrets() (map[string]provider.Secrets, error) {
	if strings.TrimSpace(c.ProvidersFile) == "" {
		return c.Providers, nil
	}
	file, err := provider.LoadFile(c.ProvidersFile)
	if err != nil {
		return nil, fmt.Errorf("GATEWAY_PROVIDERS_FILE: %w", err)
	}
	return provider.Merge(file, c.Providers), nil
}
