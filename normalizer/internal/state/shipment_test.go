package state_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/schemas/shipment"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func ev(id string, s shipment.Status, at time.Time, terminal bool) *shipment.Event {
	e := &shipment.Event{ID: id}
	e.Data.Status = s
	e.Data.Terminal = terminal
	e.Data.ReceivedAt = at.Add(time.Hour) // occurred_at wins when set
	e.Data.OccurredAt = &at
	return e
}

func TestApply(t *testing.T) {
	type step struct {
		ev   *shipment.Event
		want bool
	}
	cases := map[string][]step{
		"in order": {
			{ev("a", shipment.StatusPickedUp, t0, false), true},
			{ev("b", shipment.StatusInTransit, t0.Add(time.Minute), false), true},
			{ev("c", shipment.StatusDelivered, t0.Add(2*time.Minute), true), true},
		},
		"older in_transit after delivered": {
			{ev("a", shipment.StatusDelivered, t0, true), true},
			{ev("b", shipment.StatusInTransit, t0.Add(-time.Minute), false), false},
		},
		"newer event after terminal does not advance": {
			{ev("a", shipment.StatusCancelled, t0, true), true},
			{ev("b", shipment.StatusDelivered, t0.Add(time.Hour), true), false},
		},
		"older event before any terminal": {
			{ev("a", shipment.StatusInTransit, t0, false), true},
			{ev("b", shipment.StatusPickedUp, t0.Add(-time.Minute), false), false},
		},
		"equal time resolves by rank": {
			{ev("a", shipment.StatusOutForDelivery, t0, false), true},
			{ev("b", shipment.StatusInTransit, t0, false), false},
			{ev("c", shipment.StatusOutForDelivery, t0, false), true},
		},
		"recoverable failure then retry": {
			{ev("a", shipment.StatusDeliveryFailed, t0, false), true},
			{ev("b", shipment.StatusOutForDelivery, t0.Add(time.Hour), false), true},
		},
		"exception is news, older lifecycle after it is not": {
			{ev("a", shipment.StatusInTransit, t0, false), true},
			{ev("b", shipment.StatusException, t0.Add(time.Hour), false), true},
			{ev("c", shipment.StatusOutForDelivery, t0.Add(30*time.Minute), false), false},
			{ev("d", shipment.StatusInTransit, t0.Add(2*time.Hour), false), true},
		},
		"redelivery is idempotent": {
			{ev("a", shipment.StatusInTransit, t0, false), true},
			{ev("a", shipment.StatusInTransit, t0, false), true},
		},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			var cur *state.Shipment
			for i, s := range steps {
				next, adv := state.Apply(cur, s.ev)
				assert.Equal(t, s.want, adv, "step %d (%s)", i, s.ev.Data.Status)
				if !adv {
					assert.Same(t, cur, next, "a non-advancing event leaves the state alone")
				}
				cur = next
			}
		})
	}
}

func TestApply_idempotentState(t *testing.T) {
	e := ev("a", shipment.StatusDelivered, t0, true)
	s1, _ := state.Apply(nil, e)
	s2, adv := state.Apply(s1, e)
	assert.False(t, adv, "a terminal event applied twice does not advance the second time")
	assert.Equal(t, *s1, *s2)
}

func TestEventTime_fallsBackToReceivedAt(t *testing.T) {
	e := &shipment.Event{}
	e.Data.ReceivedAt = t0
	assert.Equal(t, t0, state.EventTime(e))
}
