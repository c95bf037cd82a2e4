package lookup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound means the index knows nothing about the id (never seen, or expired).
var ErrNotFound = errors.New("not in the lookup index")

// Webhook is everything the index knows about one raw record.
type Webhook struct {
	Meta
	// Events are the canonical events it produced (corrections included), by time.
	Events []Event `json:"events"`
	// DeadLetter is set when the record was dead-lettered (the last time).
	DeadLetter *DeadLetter `json:"dead_letter,omitempty"`
	// DuplicateOf are the ids of events the record repeated: emitted before
	// for another record (a re-delivery), so it produced no event of its own
	// for them. Sorted.
	DuplicateOf []string `json:"duplicate_of,omitempty"`
}

// Latest returns the events that are not corrected by another event of w, in
// time order: what consumers should currently believe the record said.
func (w *Webhook) Latest() []Event {
	corrected := map[string]bool{}
	for _, e := range w.Events {
		if e.Corrects != "" {
			corrected[e.Corrects] = true
		}
	}
	var out []Event
	for _, e := range w.Events {
		if !corrected[e.ID] {
			out = append(out, e)
		}
	}
	return out
}

// Store reads the index.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewStore returns a reader of the index under prefix.
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// Webhook returns the entry of requestID, or ErrNotFound.
func (s *Store) Webhook(ctx context.Context, requestID string) (*Webhook, error) {
	pipe := s.rdb.Pipeline()
	res := s.WebhooksIn(ctx, pipe, []string{requestID})
	_, _ = pipe.Exec(ctx)
	ws, err := res()
	if err != nil {
		return nil, err
	}
	if ws[0] == nil {
		return nil, ErrNotFound
	}
	return ws[0], nil
}

// WebhooksIn queues the reads of requestIDs on pipe; the returned function
// answers once pipe ran, nil where the index has no entry.
func (s *Store) WebhooksIn(ctx context.Context, pipe redis.Pipeliner, requestIDs []string) func() ([]*Webhook, error) {
	cmds := make([]*redis.MapStringStringCmd, len(requestIDs))
	for i, id := range requestIDs {
		if id != "" {
			cmds[i] = pipe.HGetAll(ctx, webhookKey(s.prefix, id))
		}
	}
	return func() ([]*Webhook, error) {
		out := make([]*Webhook, len(requestIDs))
		for i, c := range cmds {
			if c == nil {
				continue
			}
			fields, err := c.Result()
			if err != nil {
				return nil, fmt.Errorf("reading webhook index: %w", err)
			}
			if len(fields) == 0 {
				continue
			}
			w, err := decodeWebhook(fields)
			if err != nil {
				return nil, err
			}
			out[i] = w
		}
		return out, nil
	}
}

func decodeWebhook(fields map[string]string) (*Webhook, error) {
	w := &Webhook{Events: []Event{}}
	for k, v := range fields {
		var err error
		switch {
		case k == "m":
			err = json.Unmarshal([]byte(v), &w.Meta)
		case k == "dlq":
			w.DeadLetter = &DeadLetter{}
			err = json.Unmarshal([]byte(v), w.DeadLetter)
		case strings.HasPrefix(k, "e:"):
			var e Event
			err = json.Unmarshal([]byte(v), &e)
			w.Events = append(w.Events, e)
		case strings.HasPrefix(k, "d:"):
			w.DuplicateOf = append(w.DuplicateOf, k[2:])
		}
		if err != nil {
			return nil, fmt.Errorf("decoding webhook index field %s: %w", k, err)
		}
	}
	sort.Slice(w.Events, func(i, j int) bool {
		if !w.Events[i].Time.Equal(w.Events[j].Time) {
			return w.Events[i].Time.Before(w.Events[j].Time)
		}
		return w.Events[i].ID < w.Events[j].ID
	})
	// A batch replayed after a crash finds its own events marked: the record
	// then "repeats" events it produced itself, which are not duplicates.
	w.DuplicateOf = slices.DeleteFunc(w.DuplicateOf, func(id string) bool {
		return slices.ContainsFunc(w.Events, func(e Event) bool { return e.ID == id })
	})
	slices.Sort(w.DuplicateOf)
	if len(w.DuplicateOf) == 0 {
		w.DuplicateOf = nil
	}
	return w, nil
}

// Recent returns a shipment's most recent indexed events, newest first, at most
// n (all kept when n <= 0). A redelivery that was indexed twice shows once.
func (s *Store) Recent(ctx context.Context, subject string, n int) ([]Event, error) {
	vals, err := s.rdb.LRange(ctx, shipmentKey(s.prefix, subject), 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("reading shipment index: %w", err)
	}
	out := make([]Event, 0, len(vals))
	seen := map[string]bool{}
	for _, v := range vals {
		var e Event
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("decoding shipment index: %w", err)
		}
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	return out, nil
}
