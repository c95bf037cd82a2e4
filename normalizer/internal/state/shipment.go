package state

import (
	"time"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// Shipment is what the normalizer remembers about one shipment (one event key,
// "{provider}:{shipment id}").
type Shipment struct {
	// Status is the canonical status of the latest advancing event.
	Status shipment.Status `json:"s"`
	// Rank is Status.Rank() of the latest advancing lifecycle event (rank >= 0);
	// exception and unknown events do not change it. -1 while none was seen.
	Rank int `json:"r"`
	// At is the event time of the latest advancing event (occurred_at, else received_at).
	At time.Time `json:"t"`
	// Terminal is set once an advancing event was terminal (Data.Terminal); nothing
	// advances the shipment after that.
	Terminal bool `json:"x,omitempty"`
	// EventID is the CloudEvents id of the latest advancing event.
	EventID string `json:"id"`
}

// EventTime is the time the advance rule compares: the provider's occurred_at when
// it gave one, else when the gateway received the webhook.
func EventTime(ev *shipment.Event) time.Time {
	if ev.Data.OccurredAt != nil && !ev.Data.OccurredAt.IsZero() {
		return ev.Data.OccurredAt.UTC()
	}
	return ev.Data.ReceivedAt.UTC()
}

// Apply decides whether ev advances the shipment and, when it does, records it.
// cur is nil for a shipment never seen before. It returns the new state (cur
// itself when nothing changed) and the advance decision.
//
// The rule:
//   - nothing advances a shipment whose latest advancing event was terminal (a
//     second terminal event included);
//   - an event older than the latest advancing event does not advance;
//   - at an equal time, a lifecycle event (Rank >= 0) advances unless its rank is
//     lower than the current rank, so "delivered" and "out for delivery" stamped
//     with the same second resolve to delivered;
//   - exception and unknown events (rank -1) advance when they are not older: they
//     are the current news about the shipment, so Status and At move, but Rank
//     keeps the lifecycle rank, and they set Terminal only when the adapter marked
//     them terminal.
//
// Apply is idempotent: applying the event that produced the current state again
// changes nothing, which is what makes a redelivered record harmless.
func Apply(cur *Shipment, ev *shipment.Event) (*Shipment, bool) {
	t := EventTime(ev)
	rank := ev.Data.Status.Rank()
	if cur != nil {
		if cur.Terminal {
			return cur, false
		}
		if t.Before(cur.At) {
			return cur, false
		}
		if t.Equal(cur.At) && rank >= 0 && rank < cur.Rank {
			return cur, false
		}
	}
	next := Shipment{Status: ev.Data.Status, Rank: -1, At: t, Terminal: ev.Data.Terminal, EventID: ev.ID}
	if cur != nil {
		next.Rank = cur.Rank
	}
	if rank >= 0 {
		next.Rank = rank
	}
	if cur != nil && *cur == next {
		return cur, true
	}
	return &next, true
}
