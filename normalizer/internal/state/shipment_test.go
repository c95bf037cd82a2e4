package state_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/schemas/shipment"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// at returns a provider time t0+d.
func at(d time.Duration) *time.Time {
	t := t0.Add(d)
	return &t
}

// ev builds an event; occurred is nil for a provider that gave no time. The
// receive time is always later than any provider time here, so a rule that
// used it would show.
func ev(id string, s shipment.Status, occurred *time.Time) *shipment.Event {
	e := &shipment.Event{ID: id}
	e.Data.Status = s
	e.Data.SubStatus = shipment.OtherSubStatus(s)
	e.Data.Terminal = s.Terminal()
	e.Data.OccurredAt = occurred
	e.Data.ReceivedAt = t0.Add(24 * time.Hour)
	return e
}

// terminal marks e terminal whatever its status (Dash EXPRESS FAILED).
func terminal(e *shipment.Event) *shipment.Event { e.Data.Terminal = true; return e }

func TestApply(t *testing.T) {
	type step struct {
		ev   *shipment.Event
		want bool
	}
	cases := map[string]struct {
		steps     []step
		final     shipment.Status
		finalID   string
		terminal  bool
		untouched []int // steps that must leave the state as it was
	}{
		"in order, timed": {steps: []step{
			{ev("a", shipment.StatusPickedUp, at(0)), true},
			{ev("b", shipment.StatusInTransit, at(time.Minute)), true},
			{ev("c", shipment.StatusDelivered, at(2*time.Minute)), true},
		}, final: shipment.StatusDelivered, finalID: "c", terminal: true},
		"terminal always advances a non-terminal shipment, even stamped earlier": {steps: []step{
			{ev("a", shipment.StatusOutForDelivery, at(time.Hour)), true},
			{ev("b", shipment.StatusDelivered, at(0)), true},
		}, final: shipment.StatusDelivered, finalID: "b", terminal: true},
		"terminal without a time advances a timed shipment": {steps: []step{
			{ev("a", shipment.StatusInTransit, at(time.Hour)), true},
			{ev("b", shipment.StatusCancelled, nil), true},
		}, final: shipment.StatusCancelled, finalID: "b", terminal: true},
		"a repeat terminal of the same status never advances again": {steps: []step{
			{ev("a", shipment.StatusDelivered, at(0)), true},
			{ev("b", shipment.StatusDelivered, at(time.Hour)), false},
			{ev("c", shipment.StatusDelivered, nil), false},
		}, final: shipment.StatusDelivered, finalID: "b", terminal: true},
		"a lifecycle event after a terminal one does not advance": {steps: []step{
			{ev("a", shipment.StatusCancelled, at(0)), true},
			{ev("b", shipment.StatusInTransit, at(time.Hour)), false},
		}, final: shipment.StatusCancelled, finalID: "a", terminal: true, untouched: nil},
		"late re-send of an earlier step, untimed (Komerce Dikirim then Dijemput)": {steps: []step{
			{ev("a", shipment.StatusInTransit, nil), true},
			{ev("b", shipment.StatusPickedUp, nil), false},
		}, final: shipment.StatusInTransit, finalID: "a", untouched: []int{1}},
		"late re-send of an earlier step, timed": {steps: []step{
			{ev("a", shipment.StatusInTransit, at(time.Hour)), true},
			{ev("b", shipment.StatusPickedUp, at(0)), false},
		}, final: shipment.StatusInTransit, finalID: "a", untouched: []int{1}},
		"a new attempt with a later provider time moves the shipment": {steps: []step{
			{ev("a", shipment.StatusOutForDelivery, at(time.Hour)), true},
			{ev("b", shipment.StatusDeliveryFailed, at(2*time.Hour)), true},
			{ev("c", shipment.StatusOutForDelivery, at(3*time.Hour)), true},
		}, final: shipment.StatusOutForDelivery, finalID: "c"},
		"equal provider time: the higher rank wins": {steps: []step{
			{ev("a", shipment.StatusOutForDelivery, at(0)), true},
			{ev("b", shipment.StatusInTransit, at(0)), false},
		}, final: shipment.StatusOutForDelivery, finalID: "a"},
		"untimed step of a higher rank beats a timed one": {steps: []step{
			{ev("a", shipment.StatusPickedUp, at(time.Hour)), true},
			{ev("b", shipment.StatusOutForDelivery, nil), true},
			{ev("c", shipment.StatusInTransit, at(2*time.Hour)), false},
		}, final: shipment.StatusOutForDelivery, finalID: "b"},
		"equal rank: the timed step wins": {steps: []step{
			{ev("a", shipment.StatusOutForDelivery, nil), true},
			{ev("b", shipment.StatusDeliveryFailed, at(0)), true},
		}, final: shipment.StatusDeliveryFailed, finalID: "b"},
		"unknown is never part of the state": {steps: []step{
			{ev("a", shipment.StatusInTransit, at(0)), true},
			{ev("b", shipment.StatusUnknown, at(time.Hour)), false},
			{terminal(ev("c", shipment.StatusUnknown, nil)), false},
		}, final: shipment.StatusInTransit, finalID: "a", untouched: []int{1, 2}},
		"a timed exception is resolved by a later timed step only": {steps: []step{
			{ev("a", shipment.StatusInTransit, at(0)), true},
			{ev("b", shipment.StatusException, at(time.Hour)), true},
			{ev("c", shipment.StatusOutForDelivery, at(30*time.Minute)), false},
			{ev("d", shipment.StatusOutForDelivery, at(time.Hour)), false},
			{ev("e", shipment.StatusInTransit, at(2*time.Hour)), true},
		}, final: shipment.StatusInTransit, finalID: "e"},
		"an untimed exception stays until a terminal event": {steps: []step{
			{ev("a", shipment.StatusInTransit, at(0)), true},
			{ev("b", shipment.StatusException, nil), true},
			{ev("c", shipment.StatusOutForDelivery, at(5*time.Hour)), false},
			{ev("d", shipment.StatusDelivered, nil), true},
		}, final: shipment.StatusDelivered, finalID: "d", terminal: true},
		"a timed exception wins over an untimed step": {steps: []step{
			{ev("a", shipment.StatusOutForDelivery, nil), true},
			{ev("b", shipment.StatusException, at(0)), true},
		}, final: shipment.StatusException, finalID: "b"},
		"a terminal exception is terminal": {steps: []step{
			{ev("a", shipment.StatusInTransit, at(time.Hour)), true},
			{terminal(ev("b", shipment.StatusException, at(0))), true},
			{ev("c", shipment.StatusDelivered, at(2*time.Hour)), true},
		}, final: shipment.StatusDelivered, finalID: "c", terminal: true},
		"Dash EXPRESS FAILED is terminal, then delivered outranks it": {steps: []step{
			{terminal(ev("a", shipment.StatusDeliveryFailed, at(time.Hour))), true},
			{ev("b", shipment.StatusOutForDelivery, at(2*time.Hour)), false},
			{ev("c", shipment.StatusDelivered, at(0)), true},
		}, final: shipment.StatusDelivered, finalID: "c", terminal: true},
		"re-applying an event gives the same decision and state": {steps: []step{
			{ev("a", shipment.StatusInTransit, nil), true},
			{ev("a", shipment.StatusInTransit, nil), true},
			{ev("b", shipment.StatusPickedUp, nil), false},
			{ev("b", shipment.StatusPickedUp, nil), false},
		}, final: shipment.StatusInTransit, finalID: "a", untouched: []int{1, 2, 3}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var cur *state.Shipment
			for i, s := range tc.steps {
				next, adv := state.Apply(cur, s.ev)
				assert.Equal(t, s.want, adv, "step %d (%s %s)", i, s.ev.ID, s.ev.Data.Status)
				for _, u := range tc.untouched {
					if u == i {
						assert.Same(t, cur, next, "step %d must leave the state alone", i)
					}
				}
				cur = next
			}
			assert.Equal(t, tc.final, cur.Status())
			assert.Equal(t, tc.finalID, cur.EventID())
			assert.Equal(t, tc.terminal, cur.Terminal())
		})
	}
}

// TestApply_precedenceOfDifferentTerminalStatuses documents what happens when
// two different terminal statuses arrive for one shipment: delivered >
// returned > cancelled > any other terminal, whatever their times or order; the
// one of higher precedence advances when it arrives second, the lower one
// never does after it.
func TestApply_precedenceOfDifferentTerminalStatuses(t *testing.T) {
	failed := func() *shipment.Event { return terminal(ev("f", shipment.StatusDeliveryFailed, at(3*time.Hour))) }
	order := []*shipment.Event{
		failed(),
		ev("c", shipment.StatusCancelled, at(2*time.Hour)),
		ev("r", shipment.StatusReturned, at(time.Hour)),
		ev("d", shipment.StatusDelivered, at(0)),
	}
	for i := range order {
		for j := range order {
			if i == j {
				continue
			}
			lo, hi := order[i], order[j]
			t.Run(string(lo.Data.Status)+"_then_"+string(hi.Data.Status), func(t *testing.T) {
				s, adv := state.Apply(nil, lo)
				require.True(t, adv)
				s, adv = state.Apply(s, hi)
				assert.Equal(t, j > i, adv, "the second terminal advances iff it has higher precedence")
				want := lo.Data.Status
				if j > i {
					want = hi.Data.Status
				}
				assert.Equal(t, want, s.Status())
				assert.True(t, s.Terminal())
			})
		}
	}
}

func TestApply_doesNotModifyItsInput(t *testing.T) {
	s1, _ := state.Apply(nil, ev("a", shipment.StatusInTransit, at(0)))
	snapshot := *s1
	s2, adv := state.Apply(s1, ev("b", shipment.StatusDelivered, at(time.Hour)))
	require.True(t, adv)
	assert.Equal(t, snapshot, *s1)
	assert.NotSame(t, s1, s2)
}

func TestShipment_readAPI(t *testing.T) {
	var none *state.Shipment
	assert.Equal(t, shipment.Status(""), none.Status())
	assert.Empty(t, none.EventID())
	assert.False(t, none.Terminal())
	_, ok := none.OccurredAt()
	assert.False(t, ok)

	e := ev("a", shipment.StatusOutForDelivery, at(time.Minute))
	e.Data.SubStatus = shipment.SubOutForDeliveryEnRoute
	s, _ := state.Apply(nil, e)
	assert.Equal(t, shipment.StatusOutForDelivery, s.Status())
	assert.Equal(t, shipment.SubOutForDeliveryEnRoute, s.SubStatus())
	assert.Equal(t, "a", s.EventID())
	got, ok := s.OccurredAt()
	require.True(t, ok)
	assert.Equal(t, t0.Add(time.Minute), got)

	s, _ = state.Apply(s, ev("b", shipment.StatusException, nil))
	_, ok = s.OccurredAt()
	assert.False(t, ok, "an untimed current event has no time: the receive time is not kept")
}

// TestArrive is the identity rule of repeatable events: the epoch moves only
// when the status differs from the last arrived one.
func TestArrive(t *testing.T) {
	var s *state.Shipment
	var epochs []int
	for _, st := range []shipment.Status{
		shipment.StatusInTransit, shipment.StatusInTransit, // a re-delivery
		shipment.StatusDeliveryFailed, shipment.StatusInTransit, // a real repeat
		shipment.StatusInTransit,
	} {
		var e int
		s, e = state.Arrive(s, st)
		epochs = append(epochs, e)
	}
	assert.Equal(t, []int{1, 1, 2, 3, 3}, epochs)
	assert.Equal(t, shipment.StatusInTransit, s.Last)

	same, e := state.Arrive(s, shipment.StatusInTransit)
	assert.Same(t, s, same, "no change, same state")
	assert.Equal(t, 3, e)
	assert.Equal(t, "k#3", state.QualifiedKey("k", 3))
}
