package consume

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/unknowns"
)

// Config tunes the consumer loop.
type Config struct {
	// CanonicalTopic and DLQTopic are where events and dead letters are written.
	CanonicalTopic string
	DLQTopic       string
	// BatchSize caps the raw records per batch; Linger is how long a batch waits for
	// more records after its first one.
	BatchSize int
	Linger    time.Duration
	// RetryMin and RetryMax bound the exponential backoff between attempts of a
	// batch that failed transiently.
	RetryMin, RetryMax time.Duration
	// RedisTimeout bounds each Redis round trip.
	RedisTimeout time.Duration
	// Lease is the in-flight claim lease; an attempt that reaches the produce step
	// later than Lease/2 after claiming starts over instead of producing.
	Lease time.Duration
	// DrainTimeout bounds finishing the batch in flight after ctx is cancelled.
	DrainTimeout time.Duration
	// CommitInterval is the least time between two offset commits: durable
	// batches' offsets wait and go together (see commitLoop). 0 commits after
	// every batch.
	CommitInterval time.Duration
	// Service is the dlq_service header value.
	Service string
	// RedeliveryWindow is how long the exact bytes of a repeatable event (one
	// whose identity holds no provider time, sequence or event id, see
	// adapter.Output.Repeatable) stay a re-delivery even after another status of
	// the shipment arrived: a provider retrying a webhook does so within minutes,
	// a real repeat of a status (a new delivery attempt) comes hours later.
	// Default 10 minutes.
	RedeliveryWindow time.Duration
	// MaxEventBytes caps one canonical record (value, key and headers). A bigger
	// one would be refused by the broker (message.max.bytes, 1 MiB by default) or
	// by kafka-go (BatchBytes) on every attempt, so its raw record is dead-lettered
	// (event_too_large) instead of stalling the partition. Default 1,000,000.
	MaxEventBytes int
}

// Deps are the consumer's collaborators.
type Deps struct {
	Fetcher   Fetcher
	Producer  Producer
	Redis     Redis // the client the stores below use
	Dedup     Deduper
	States    States
	Claims    Claims
	Recovery  Recovery
	Normalize NormalizeFunc // nil: adapter.Normalize
	// Index, when set, records each raw record's events or dead-letter reason for
	// the lookup API, in the same MULTI as the state and marks.
	Index *lookup.Index
	// Unknowns, when set, counts unknown statuses by provider status value.
	Unknowns *unknowns.Tracker
	Metrics  *Metrics // nil: unregistered metrics
	Log      *zap.Logger
}

// Consumer is the normalizer's consume → produce → commit loop.
type Consumer struct {
	cfg Config
	d   Deps
	log *zap.Logger
	m   *Metrics
	now func() time.Time
}

// Errors returned by one attempt of a batch; all are transient.
var (
	// ErrPartitionBusy means another live owner holds an in-flight claim on a raw
	// partition in the batch (a rebalance moved it mid-batch); wait for it.
	ErrPartitionBusy = errors.New("raw partition in flight at another consumer")
	// ErrLeaseAtRisk means the attempt took so long that producing now could
	// outlive its claim's lease; it starts over.
	ErrLeaseAtRisk = errors.New("batch attempt too slow for its in-flight lease")
)

// New returns a consumer; it checks that every dependency is set.
func New(cfg Config, d Deps) (*Consumer, error) {
	if d.Fetcher == nil || d.Producer == nil || d.Redis == nil || d.Dedup == nil || d.States == nil || d.Claims == nil || d.Recovery == nil {
		return nil, errors.New("consume: missing dependency")
	}
	if cfg.CanonicalTopic == "" || cfg.DLQTopic == "" {
		return nil, errors.New("consume: canonical and DLQ topics are required")
	}
	if d.Normalize == nil {
		d.Normalize = adapter.Normalize
	}
	if d.Log == nil {
		d.Log = zap.NewNop()
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	cfg.BatchSize = max(cfg.BatchSize, 1)
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 100 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(cfg.RetryMin, 5*time.Second)
	}
	if cfg.RedisTimeout <= 0 {
		cfg.RedisTimeout = 5 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	if cfg.Service == "" {
		cfg.Service = "normalizer"
	}
	if cfg.RedeliveryWindow <= 0 {
		cfg.RedeliveryWindow = 10 * time.Minute
	}
	if cfg.MaxEventBytes <= 0 {
		cfg.MaxEventBytes = 1_000_000
	}
	return &Consumer{cfg: cfg, d: d, log: d.Log, m: d.Metrics, now: time.Now}, nil
}

func (c *Consumer) redis(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.RedisTimeout)
}
