package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// Redis stores each shipment's state as a small JSON string under
// "{prefix}s:{provider}:{shipment id}" with a TTL refreshed on every write:
// {"end":{...},"lt":{...},"lu":{...},"xt":{...},"xu":{...},"ep":3,"la":"in_transit"},
// each summary {"i":id,"s":status,"u":sub_status,"r":rank,"t":unix nanos,"h":timed,"x":terminal},
// empty ones left out.
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

// Get returns the state of each subject, nil where none is stored, in one round
// trip.
func (r *Redis) Get(ctx context.Context, subjects []string) ([]*Shipment, error) {
	pipe := r.rdb.Pipeline()
	res := r.GetIn(ctx, pipe, subjects)
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx)
	}
	return res()
}

// GetIn queues the read of subjects' states on pipe (one MGET) so it can share a
// round trip with other commands; the returned function answers once pipe ran,
// nil where no state is stored. A value that does not decode is treated as absent
// (it is rewritten by the next Put) rather than stalling the partition.
func (r *Redis) GetIn(ctx context.Context, pipe redis.Pipeliner, subjects []string) func() ([]*Shipment, error) {
	if len(subjects) == 0 {
		return func() ([]*Shipment, error) { return nil, nil }
	}
	keys := make([]string, len(subjects))
	for i, s := range subjects {
		keys[i] = r.key(s)
	}
	cmd := pipe.MGet(ctx, keys...)
	return func() ([]*Shipment, error) {
		vals, err := cmd.Result()
		if err != nil {
			return nil, fmt.Errorf("reading shipment state: %w", err)
		}
		if len(vals) != len(subjects) {
			return nil, fmt.Errorf("reading shipment state: %d answers for %d subjects", len(vals), len(subjects))
		}
		out := make([]*Shipment, len(subjects))
		for i, v := range vals {
			b, ok := v.(string)
			if !ok {
				continue
			}
			out[i] = decode([]byte(b))
		}
		return out, nil
	}
}

// Put writes the given states in one pipelined round trip.
func (r *Redis) Put(ctx context.Context, states map[string]*Shipment) error {
	if len(states) == 0 {
		return nil
	}
	pipe := r.rdb.Pipeline()
	if err := r.PutIn(ctx, pipe, states); err != nil {
		return err
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("writing shipment state: %w", err)
	}
	return nil
}

// PutIn queues the writes of states on pipe; they are written when pipe runs.
func (r *Redis) PutIn(ctx context.Context, pipe redis.Pipeliner, states map[string]*Shipment) error {
	for subject, s := range states {
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encoding shipment state: %w", err)
		}
		pipe.Set(ctx, r.key(subject), b, r.ttl)
	}
	return nil
}

// legacy is the state the normalizer wrote before the five summaries: the
// latest advancing event, ordered by one time that mixed provider and receive
// clocks.
type legacy struct {
	Status   shipment.Status `json:"s"`
	Terminal bool            `json:"x"`
	EventID  string          `json:"id"`
}

// decode reads a stored state; nil when it does not decode. A legacy value
// becomes one untimed summary of its event's class (its time cannot be trusted
// as a provider time), so a shipment that was delivered stays terminal.
func decode(b []byte) *Shipment {
	var s Shipment
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	if s != (Shipment{}) {
		return &s
	}
	var old legacy
	if json.Unmarshal(b, &old) != nil || old.EventID == "" {
		return &s
	}
	ev := &shipment.Event{ID: old.EventID}
	ev.Data.Status, ev.Data.Terminal = old.Status, old.Terminal
	e, c, ok := entryOf(ev)
	if ok {
		*s.slot(c) = &e
	}
	return &s
}
