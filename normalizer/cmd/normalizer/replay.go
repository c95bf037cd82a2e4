package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// defaultRedeliveryWindow is the service's default NORMALIZER_REDELIVERY_WINDOW.
const defaultRedeliveryWindow = 10 * time.Minute

// replay is the dry run's in-memory pipeline state: the shipments' states, the
// ids emitted so far and when each repeatable event's bytes last arrived (other
// than as a re-delivery).
// It decides identity, duplicates and advances per event exactly as the
// consumer does for events in raw order (consume.decide), without Redis.
type replay struct {
	states  map[string]*state.Shipment
	emitted map[string]bool
	// window and lastAt: a repeatable event whose unqualified id last arrived
	// (other than as a re-delivery) less than window earlier (receive times)
	// is a re-delivery.
	window time.Duration
	lastAt map[string]time.Time
	enc    *json.Encoder
	log    io.Writer
	n      int
}

func newReplay(stdout, stderr io.Writer, window time.Duration) *replay {
	return &replay{states: map[string]*state.Shipment{}, emitted: map[string]bool{}, window: window,
		lastAt: map[string]time.Time{}, enc: json.NewEncoder(stdout), log: stderr}
}

// apply replays the outputs of one body; dead reports whether a part of it
// would be dead-lettered.
func (r *replay) apply(name string, outs []adapter.Output) (dead bool, err error) {
	for i := range outs {
		o := &outs[i]
		if o.Dead != nil {
			fmt.Fprintf(r.log, "%s: dead-letter (part): reason=%s: %v\n", name, o.Dead.Reason, o.Dead)
			dead = true
			continue
		}
		ev := &o.Event
		cur := r.states[ev.Subject]
		if o.Repeatable {
			at := ev.Data.ReceivedAt
			if last, ok := r.lastAt[ev.ID]; ok && !at.Before(last) && at.Sub(last) <= r.window {
				r.n++
				fmt.Fprintf(r.log, "#%d %s: %s %s: the same bytes arrived %s earlier (redelivery window %s): a re-delivery, dropped\n",
					r.n, name, ev.Subject, ev.Data.Status, at.Sub(last), r.window)
				continue
			}
			if at.After(r.lastAt[ev.ID]) {
				r.lastAt[ev.ID] = at
			}
			var epoch int
			cur, epoch = state.Arrive(cur, ev.Data.Status)
			ev.ID = shipment.EventID(state.QualifiedKey(o.DedupKey, epoch))
		} else if !r.emitted[ev.ID] {
			cur, _ = state.Arrive(cur, ev.Data.Status)
		}
		cur, ev.Data.Advances = state.Apply(cur, ev)
		r.states[ev.Subject] = cur
		r.n++
		if r.emitted[ev.ID] {
			fmt.Fprintf(r.log, "#%d %s: %s %s %s: duplicate of an event already emitted, dropped\n", r.n, name, ev.Subject, ev.Data.Status, ev.ID)
			continue
		}
		r.emitted[ev.ID] = true
		fmt.Fprintf(r.log, "#%d %s: %s %s (%s) advances=%v occurred_at=%s id=%s\n", r.n, name, ev.Subject,
			ev.Data.Status, ev.Data.SubStatus, ev.Data.Advances, occurred(ev.Data.OccurredAt), ev.ID)
		if err := r.enc.Encode(ev); err != nil {
			return dead, err
		}
	}
	return dead, nil
}

// summary prints the final state of every shipment, by subject.
func (r *replay) summary() {
	subjects := make([]string, 0, len(r.states))
	for s := range r.states {
		subjects = append(subjects, s)
	}
	slices.Sort(subjects)
	for _, subj := range subjects {
		s := r.states[subj]
		at, ok := s.OccurredAt()
		t := "-"
		if ok {
			t = at.Format(time.RFC3339)
		}
		status := string(s.Status())
		if status == "" {
			status = "(none: only unknown statuses)"
		}
		fmt.Fprintf(r.log, "final %s: %s (%s) terminal=%v occurred_at=%s event=%s epoch=%d\n",
			subj, status, s.SubStatus(), s.Terminal(), t, s.EventID(), s.Epoch)
	}
}

func occurred(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
