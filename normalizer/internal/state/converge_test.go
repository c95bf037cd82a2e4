package state_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/normalizer/internal/state/statetest"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// maxExhaustive is the longest lifecycle whose every permutation is tried
// (7! = 5,040); longer ones get randomOrders seeded random orders.
const (
	maxExhaustive = 7
	randomOrders  = 2000
)

// TestConverge_everyOrderOfEveryLifecycle is the convergence property: for each
// provider lifecycle, applying its events in every order (or randomOrders
// random ones) ends in the same state as applying them in life order, whose
// status is the lifecycle's terminal status of highest precedence when it has
// a terminal event (delivered > returned > cancelled > any other terminal).
//
// In every order, a terminal event advances iff its precedence is higher than
// that of every terminal event applied before it. So the final terminal status
// is emitted with advances=true exactly once; a terminal status never advances
// twice (a repeat is news, not progress); one of lower precedence never
// advances after a higher one; and a lifecycle with one terminal status emits
// exactly one terminal event with advances=true. With several (cancelled, then
// delivered) an order emits one to as many as there are statuses, depending
// on arrival order. Every step is a distinct event, applied once per order, so
// no event is emitted with advances=true more than once.
func TestConverge_everyOrderOfEveryLifecycle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026)) // fixed seed: a failure reproduces
	received := time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC)
	lifecycles, severalTerminal, orders := 0, 0, 0
	for _, lc := range statetest.Lifecycles(t, "") {
		evs := statetest.Events(t, lc, received)
		ids := map[string]bool{}
		// levels is the terminal status of each precedence in the lifecycle,
		// top the highest precedence (-1: no terminal event).
		levels := map[int]shipment.Status{}
		top := -1
		for _, e := range evs {
			require.False(t, ids[e.ID], "%s: two steps are one event %s", lc.Name, e.ID)
			ids[e.ID] = true
			if !e.Data.Terminal {
				continue
			}
			p := precedence(e.Data.Status)
			// Two terminal statuses of one precedence are ordered by provider
			// time, which the advance rule checked here does not model.
			if s, ok := levels[p]; ok && s != e.Data.Status {
				t.Fatalf("%s: terminal statuses %s and %s have the same precedence", lc.Name, s, e.Data.Status)
			}
			levels[p] = e.Data.Status
			top = max(top, p)
		}
		want, lifeAdv := applyAll(evs, identity(len(evs)))
		require.Equal(t, lc.Final, want.Status(), "%s: final status in life order", lc.Name)
		if top >= 0 {
			require.Equal(t, levels[top], want.Status(), "%s: final status is the terminal status of highest precedence", lc.Name)
		}

		// terminalAdvances checks the advance decisions of the terminal
		// events of one order and returns how many advanced.
		terminalAdvances := func(order []int, advs []bool) int {
			best, n, final := -1, 0, 0
			for k, i := range order {
				d := &evs[i].Data
				if !d.Terminal {
					continue
				}
				p := precedence(d.Status)
				if advs[k] != (p > best) {
					t.Fatalf("%s: order %v: terminal %s (step %d) emitted with advances=%v, want %v (highest precedence applied before: %d)",
						lc.Name, order, d.Status, i, advs[k], p > best, best)
				}
				best = max(best, p)
				if advs[k] {
					n++
					if p == top {
						final++
					}
				}
			}
			if top >= 0 && final != 1 {
				t.Fatalf("%s: order %v emits %d %s events with advances=true, want exactly one", lc.Name, order, final, levels[top])
			}
			if len(levels) <= 1 && n != len(levels) {
				t.Fatalf("%s: order %v emits %d terminal events with advances=true, want %d", lc.Name, order, n, len(levels))
			}
			return n
		}
		terminalAdvances(identity(len(evs)), lifeAdv)

		n, fewest, most := 0, len(evs), 0
		check := func(order []int) {
			n++
			got, advs := applyAll(evs, order)
			if !sameSummaries(got, want) {
				t.Fatalf("%s: order %v ends in %s (%s), life order in %s (%s)", lc.Name, order,
					got.Status(), got.EventID(), want.Status(), want.EventID())
			}
			term := terminalAdvances(order, advs)
			fewest, most = min(fewest, term), max(most, term)
		}
		if len(evs) <= maxExhaustive {
			permutations(len(evs), check)
		} else {
			for range randomOrders {
				check(rng.Perm(len(evs)))
			}
		}
		if len(levels) > 1 {
			severalTerminal++
		}
		t.Logf("%-72s %d events x %5d orders -> %-16s terminal advances %d..%d", lc.Name, len(evs), n, want.Status(), fewest, most)
		lifecycles++
		orders += n
	}
	t.Logf("convergence: %d lifecycles (%d with several terminal statuses), %d orders applied, all converged", lifecycles, severalTerminal, orders)
}

// precedence is the order of terminal statuses the state rule documents
// (normalizer/README.md), restated as what the test checks the rule against.
func precedence(s shipment.Status) int {
	switch s {
	case shipment.StatusDelivered:
		return 3
	case shipment.StatusReturned:
		return 2
	case shipment.StatusCancelled:
		return 1
	default:
		return 0
	}
}

// applyAll applies evs in the given order to an empty state; it returns the
// final state and, for each position of order, whether its event advanced.
func applyAll(evs []shipment.Event, order []int) (*state.Shipment, []bool) {
	var s *state.Shipment
	advs := make([]bool, len(order))
	for k, i := range order {
		s, advs[k] = state.Apply(s, &evs[i])
	}
	if s == nil {
		s = &state.Shipment{}
	}
	return s, advs
}

// sameSummaries compares the five summaries by value (the pointers differ).
func sameSummaries(a, b *state.Shipment) bool {
	eq := func(x, y *state.Entry) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return eq(a.End, b.End) && eq(a.StepTimed, b.StepTimed) && eq(a.StepUntimed, b.StepUntimed) &&
		eq(a.IssueTimed, b.IssueTimed) && eq(a.IssueUntimed, b.IssueUntimed)
}

func identity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// permutations calls f with every permutation of 0..n-1 (Heap's algorithm).
func permutations(n int, f func([]int)) {
	p := identity(n)
	c := make([]int, n)
	f(append([]int(nil), p...))
	for i := 0; i < n; {
		if c[i] < i {
			if i%2 == 0 {
				p[0], p[i] = p[i], p[0]
			} else {
				p[c[i]], p[i] = p[i], p[c[i]]
			}
			f(append([]int(nil), p...))
			c[i]++
			i = 0
		} else {
			c[i] = 0
			i++
		}
	}
}

// TestIssue11_sequences are the bullets of issue 11 on real adapter outputs;
// each failed under the previous rule (ordered by one time that mixed the
// provider's clock with the gateway's).
func TestIssue11_sequences(t *testing.T) {
	received := time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC)
	byName := map[string]statetest.Lifecycle{}
	for _, lc := range statetest.Lifecycles(t, "") {
		byName[lc.Name] = lc
	}
	run := func(t *testing.T, name string, order []int) ([]bool, *state.Shipment) {
		lc, ok := byName[name]
		require.True(t, ok, name)
		evs := statetest.Events(t, lc, received)
		var s *state.Shipment
		var advs []bool
		for k, i := range order {
			// The gateway receives them in this order.
			evs[i].Data.ReceivedAt = received.Add(time.Duration(k) * time.Minute)
			var adv bool
			s, adv = state.Apply(s, &evs[i])
			advs = append(advs, adv)
		}
		return advs, s
	}

	t.Run("kiriminaja shipped, problem stamped later, finished stamped earlier: delivered", func(t *testing.T) {
		advs, s := run(t, "kiriminaja express: exception then delivered", []int{0, 1, 2})
		require.Equal(t, []bool{true, true, true}, advs, "the delivered event advances")
		require.Equal(t, shipment.StatusDelivered, s.Status())
		require.True(t, s.Terminal())
	})
	t.Run("kiriminaja untimed processed does not block earlier-stamped events", func(t *testing.T) {
		advs, s := run(t, "kiriminaja express: untimed processed then stamped", []int{0, 1, 2})
		require.Equal(t, []bool{true, true, true}, advs)
		require.Equal(t, shipment.StatusDelivered, s.Status())
	})
	t.Run("kiriminaja untimed processed arriving after shipped does not go back", func(t *testing.T) {
		advs, s := run(t, "kiriminaja express: untimed processed then stamped", []int{1, 0})
		require.Equal(t, []bool{true, false}, advs)
		require.Equal(t, shipment.StatusPickedUp, s.Status())
	})
	t.Run("komerce Dikirim then a late Dijemput stays in_transit", func(t *testing.T) {
		advs, s := run(t, "komerce: happy path", []int{2, 1})
		require.Equal(t, []bool{true, false}, advs)
		require.Equal(t, shipment.StatusInTransit, s.Status())
	})
}
