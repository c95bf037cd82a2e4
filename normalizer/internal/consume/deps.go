package consume

import (
	"context"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
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

// Deduper remembers produced events by CloudEvents id. Seen answers per id; Mark is
// called only after the events are durably produced.
type Deduper interface {
	Seen(ctx context.Context, ids []string) ([]bool, error)
	Mark(ctx context.Context, ids []string) error
}

// States reads and writes per-shipment state for a batch; Get returns nil for a
// shipment without state.
type States interface {
	Get(ctx context.Context, subjects []string) ([]*state.Shipment, error)
	Put(ctx context.Context, states map[string]*state.Shipment) error
}

// Claims fences raw partitions while their events may be produced but not marked
// (see package inflight). Claim is all or nothing.
type Claims interface {
	Claim(ctx context.Context, parts []string, from map[int]int64) (inflight.Result, error)
	Release(ctx context.Context, held []inflight.Held) error
	Drop(ctx context.Context, stale []inflight.Stale) error
}

// Recovery reads the canonical topic: Offsets is a lower bound of its end offsets,
// Scan the event ids written since given offsets.
type Recovery interface {
	Offsets() map[int]int64
	Scan(ctx context.Context, from map[int]int64) ([]string, error)
}

// NormalizeFunc maps one raw record; adapter.Normalize in production.
type NormalizeFunc func(rec adapter.RawRecord) ([]adapter.Output, error)
