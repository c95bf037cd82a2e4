package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis stores each shipment's state as a small JSON string under
// "{prefix}s:{provider}:{shipment id}" with a TTL refreshed on every write.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedis returns a store using rdb. ttl bounds how long a shipment nobody hears
// about is remembered; an event arriving after that is judged as the first one.
func NewRedis(rdb redis.UniversalClient, prefix string, ttl time.Duration) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, ttl: ttl}
}

func (r *Redis) key(subject string) string { return r.prefix + "s:" + subject }

// Get returns the state of each subject, nil where none is stored, in one pipelined
// round trip. A value that does not decode is treated as absent (it is rewritten
// by the next Put) rather than stalling the partition.
func (r *Redis) Get(ctx context.Context, subjects []string) ([]*Shipment, error) {
	out := make([]*Shipment, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(subjects))
	for i, s := range subjects {
		cmds[i] = pipe.Get(ctx, r.key(s))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading shipment state: %w", err)
	}
	for i, c := range cmds {
		b, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading shipment state: %w", err)
		}
		var s Shipment
		if json.Unmarshal(b, &s) == nil {
			out[i] = &s
		}
	}
	return out, nil
}

// Put writes the given states in one pipelined round trip.
func (r *Redis) Put(ctx context.Context, states map[string]*Shipment) error {
	if len(states) == 0 {
		return nil
	}
	pipe := r.rdb.Pipeline()
	for subject, s := range states {
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encoding shipment state: %w", err)
		}
		pipe.Set(ctx, r.key(subject), b, r.ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("writing shipment state: %w", err)
	}
	return nil
}
