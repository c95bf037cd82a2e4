package repair

import (
	"context"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/state"
)

// NormalizeFunc maps one raw record; adapter.Normalize in production, a stand-in
// in tests (an adapter before and after a fix).
type NormalizeFunc func(rec adapter.RawRecord) ([]adapter.Output, error)

// Producer writes records and returns once every one is acknowledged (acks=all).
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Deduper is the normalizer's dedup store (dedup.Redis).
type Deduper interface {
	SeenIn(ctx context.Context, pipe redis.Pipeliner, ids []string) func() ([]bool, error)
	MarkIn(ctx context.Context, pipe redis.Pipeliner, ids []string)
}

// States is the normalizer's shipment state store (state.Redis).
type States interface {
	GetIn(ctx context.Context, pipe redis.Pipeliner, subjects []string) func() ([]*state.Shipment, error)
	PutIn(ctx context.Context, pipe redis.Pipeliner, states map[string]*state.Shipment) error
}

// Position is how far a run is through the offsets it set out to read. Total is
// fixed when the run starts: per partition, from its first offset (the --since
// offset, or a resumed checkpoint) to the end offset taken then, summed. Done
// grows as batches are handled and reaches Total when the run completes. Both
// count offsets, not records: transaction markers and compacted gaps take offsets,
// so Read can end below Total.
type Position struct{ Done, Total int64 }

// span is the offsets [from[p], to[p]) summed over parts; a partition whose start
// is at or past its end (a checkpoint beyond --until) adds none.
func span(parts []int, from, to map[int]int64) int64 {
	var n int64
	for _, p := range parts {
		n += max(0, to[p]-from[p])
	}
	return n
}

// normalizeSafe runs fn, turning a panic into a permanent error.
func normalizeSafe(fn NormalizeFunc, rec adapter.RawRecord) (outs []adapter.Output, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, adapter.Permanent("adapter_panic", "adapter panicked: %v", r)
		}
	}()
	if rec.Provider == "" {
		return nil, &adapter.Error{Reason: adapter.ReasonUnknownProvider, Err: adapter.ErrUnknownProvider}
	}
	return fn(rec)
}

// maps reports whether outs (from a nil error) hold no dead part.
func maps(outs []adapter.Output) bool {
	for _, o := range outs {
		if o.Dead != nil {
			return false
		}
	}
	return true
}
