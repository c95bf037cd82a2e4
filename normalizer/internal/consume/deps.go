package consume

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/normalizer/internal/state"
)

// Fetcher is the consumer-group side of Kafka (a *kafka.Reader). FetchMessage must
// not commit; CommitMessages commits the given offsets (the last per partition).
type Fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Producer writes records synchronously and returns once every one is acknowledged
// (acks=all) or an error. Records to one partition must be written in call order.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Redis opens pipelines (a *redis.Client): the consumer groups the stores'
// commands so that a batch costs two Redis round trips, one before producing
// (claim, dedup check, state read) and one after (state, marks, release).
type Redis interface {
	Pipeline() redis.Pipeliner
	TxPipeline() redis.Pipeliner
}

// Deduper remembers produced events by CloudEvents id. SeenIn queues the check on
// a pipeline and answers per id once it ran; MarkIn queues marks, and is used only
// after the events are durably produced; Mark marks at once (recovery).
type Deduper interface {
	SeenIn(ctx context.Context, pipe redis.Pipeliner, ids []string) func() ([]bool, error)
	MarkIn(ctx context.Context, pipe redis.Pipeliner, ids []string)
	// ReceivedIn and MarkReceivedIn read and write the re-delivery window marks of
	// repeatable events: unqualified id -> receive time (Unix ms) and final id of
	// its last arrival that was not a re-delivery (see Config.RedeliveryWindow).
	ReceivedIn(ctx context.Context, pipe redis.Pipeliner, ids []string) func() ([]dedup.WindowMark, error)
	MarkReceivedIn(ctx context.Context, pipe redis.Pipeliner, marks map[string]dedup.WindowMark, ttl time.Duration)
	Mark(ctx context.Context, ids []string) error
}

// States reads and writes per-shipment state for a batch, queued on a pipeline;
// GetIn answers nil for a shipment without state.
type States interface {
	GetIn(ctx context.Context, pipe redis.Pipeliner, subjects []string) func() ([]*state.Shipment, error)
	PutIn(ctx context.Context, pipe redis.Pipeliner, states map[string]*state.Shipment) error
}

// Claims fences raw partitions while their events may be produced but not marked
// (see package inflight). ClaimIn is all or nothing and runs before the commands
// queued after it on the same pipeline; ReleaseIn goes last in the transaction
// that writes the marks, so it happens only if they were written.
type Claims interface {
	ClaimIn(ctx context.Context, pipe redis.Pipeliner, parts []string, from map[int]int64) (func() (inflight.Result, error), error)
	ReleaseIn(ctx context.Context, pipe redis.Pipeliner, held []inflight.Held)
	Drop(ctx context.Context, stale []inflight.Stale) error
}

// Recovery reads the canonical topic: Offsets is a lower bound of its end offsets,
// Scan the events (id and raw source) written since given offsets.
type Recovery interface {
	Offsets() map[int]int64
	Scan(ctx context.Context, from map[int]int64) ([]inflight.Recovered, error)
}

// NormalizeFunc maps one raw record; adapter.Normalize in production.
type NormalizeFunc func(rec adapter.RawRecord) ([]adapter.Output, error)
