package dedup

import (
	"context"
	"fmt"
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

// Seen reports, for each id, whether it was marked, in one pipelined round trip.
func (r *Redis) Seen(ctx context.Context, ids []string) ([]bool, error) {
	out := make([]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Exists(ctx, r.key(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("checking dedup marks: %w", err)
	}
	for i, c := range cmds {
		out[i] = c.Val() > 0
	}
	return out, nil
}

// Mark records ids as produced, in one pipelined round trip.
func (r *Redis) Mark(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := r.rdb.Pipeline()
	for _, id := range ids {
		pipe.Set(ctx, r.key(id), "1", r.ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("writing dedup marks: %w", err)
	}
	return nil
}
