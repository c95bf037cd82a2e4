package dedup

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Redis implementation: one key "{prefix}d:{event id}" per produced
// event, expiring after the configured TTL.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedis returns a dedup store. ttl is how long a redelivery is still recognised;
// a provider retrying the same webhook after that yields a second event.
func NewRedis(rdb redis.UniversalClient, prefix string, ttl time.Duration) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, ttl: ttl}
}

func (r *Redis) key(id string) string { return r.prefix + "d:" + id }

// Seen reports, for each id, whether it was marked, in one round trip.
func (r *Redis) Seen(ctx context.Context, ids []string) ([]bool, error) {
	pipe := r.rdb.Pipeline()
	res := r.SeenIn(ctx, pipe, ids)
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx)
	}
	return res()
}

// SeenIn queues the check of ids on pipe (one MGET) so it can share a round trip
// with other commands; the returned function answers, per id, once pipe ran.
func (r *Redis) SeenIn(ctx context.Context, pipe redis.Pipeliner, ids []string) func() ([]bool, error) {
	if len(ids) == 0 {
		return func() ([]bool, error) { return nil, nil }
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = r.key(id)
	}
	cmd := pipe.MGet(ctx, keys...)
	return func() ([]bool, error) {
		vals, err := cmd.Result()
		if err != nil {
			return nil, fmt.Errorf("checking dedup marks: %w", err)
		}
		if len(vals) != len(ids) {
			return nil, fmt.Errorf("checking dedup marks: %d answers for %d ids", len(vals), len(ids))
		}
		out := make([]bool, len(ids))
		for i, v := range vals {
			out[i] = v != nil
		}
		return out, nil
	}
}

// Mark records ids as produced, in one pipelined round trip.
func (r *Redis) Mark(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := r.rdb.Pipeline()
	r.MarkIn(ctx, pipe, ids)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("writing dedup marks: %w", err)
	}
	return nil
}

// MarkIn queues the marks of ids on pipe; they are written when pipe runs.
func (r *Redis) MarkIn(ctx context.Context, pipe redis.Pipeliner, ids []string) {
	for _, id := range ids {
		pipe.Set(ctx, r.key(id), "1", r.ttl)
	}
}

func (r *Redis) windowKey(id string) string { return r.prefix + "w:" + id }

// windowIDKey holds a window mark's final id beside its receive time, in a key
// of its own so the time key keeps the format every release reads (a release
// that did not know the id still reads the time during a rolling upgrade or
// after a rollback).
func (r *Redis) windowIDKey(id string) string { return r.prefix + "wq:" + id }

// WindowMark is what the re-delivery window remembers of the last arrival of
// an unqualified id that was not itself a re-delivery: its gateway receive time
// (Unix ms) and its final (qualified) id, empty when only the time is known (a
// mark written before the id was kept).
type WindowMark struct {
	At int64
	ID string
}

// ReceivedIn queues the read of the window marks of ids (one MGET): per id, the
// mark of the last arrival of that unqualified id that was not a re-delivery, zero when none is
// remembered. See consume.Config.RedeliveryWindow.
func (r *Redis) ReceivedIn(ctx context.Context, pipe redis.Pipeliner, ids []string) func() ([]WindowMark, error) {
	if len(ids) == 0 {
		return func() ([]WindowMark, error) { return nil, nil }
	}
	keys := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, r.windowKey(id), r.windowIDKey(id))
	}
	cmd := pipe.MGet(ctx, keys...)
	return func() ([]WindowMark, error) {
		vals, err := cmd.Result()
		if err != nil {
			return nil, fmt.Errorf("reading re-delivery window marks: %w", err)
		}
		if len(vals) != len(keys) {
			return nil, fmt.Errorf("reading re-delivery window marks: %d answers for %d keys", len(vals), len(keys))
		}
		out := make([]WindowMark, len(ids))
		for i := range out {
			if s, ok := vals[2*i].(string); ok {
				out[i].At, _ = strconv.ParseInt(s, 10, 64)
			}
			if s, ok := vals[2*i+1].(string); ok && out[i].At > 0 {
				out[i].ID = s
			}
		}
		return out, nil
	}
}

// MarkReceivedIn queues window marks under the unqualified id: the receive time
// (Unix ms) and, in a key beside it, the final id; both kept for ttl.
func (r *Redis) MarkReceivedIn(ctx context.Context, pipe redis.Pipeliner, marks map[string]WindowMark, ttl time.Duration) {
	for id, m := range marks {
		pipe.Set(ctx, r.windowKey(id), strconv.FormatInt(m.At, 10), ttl)
		pipe.Set(ctx, r.windowIDKey(id), m.ID, ttl)
	}
}
