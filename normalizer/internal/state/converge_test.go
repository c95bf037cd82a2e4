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
// random ones) ends in the same state as applying them in life order, and each
// order emits exactly one terminal event with advances=true when the lifecycle
// has a terminal event (never more than one).
func TestConverge_everyOrderOfEveryLifecycle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026)) // fixed seed: a failure reproduces
	received := time.Date(2026, 8, 6, 12, 0, 0, 0, time.UTC)
	lifecycles, orders := 0, 0
	for _, lc := range statetest.Lifecycles(t, "") {
		evs := statetest.Events(t, lc, received)
		want, wantTerm := applyAll(evs, identity(len(evs)))
		require.Equal(t, lc.Final, want.Status(), "%s: final status in life order", lc.Name)
		hasTerminal := false
		for _, e := range evs {
			hasTerminal = hasTerminal || e.Data.Terminal
		}
		require.Equal(t, btoi(hasTerminal), wantTerm, "%s: terminal advances in life order", lc.Name)

		n := 0
		check := func(order []int) {
			n++
			got, term := applyAll(evs, order)
			if !sameSummaries(got, want) {
				t.Fatalf("%s: order %v ends in %s (%s), life order in %s (%s)", lc.Name, order,
					got.Status(), got.EventID(), want.Status(), want.EventID())
			}
			if term != btoi(hasTerminal) {
				t.Fatalf("%s: order %v emits %d terminal events with advances=true, want %d", lc.Name, order, term, btoi(hasTerminal))
			}
		}
		if len(evs) <= maxExhaustive {
			permutations(len(evs), check)
		} else {
			for range randomOrders {
				check(rng.Perm(len(evs)))
			}
		}
		t.Logf("%-75s %d events x %5d orders -> %s", lc.Name, len(evs), n, want.Status())
		lifecycles++
		orders += n
	}
	t.Logf("convergence: %d lifecycles, %d orders applied, all converged", lifecycles, orders)
}

// applyAll applies evs in the given order to an empty state; it returns the
// final state and how many terminal events advanced.
func applyAll(evs []shipment.Event, order []int) (*state.Shipment, int) {
	var s *state.Shipment
	term := 0
	for _, i := range order {
		var adv bool
		s, adv = state.Apply(s, &evs[i])
		if adv && evs[i].Data.Terminal {
			term++
		}
	}
	if s == nil {
		s = &state.Shipment{}
	}
	return s, term
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

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
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
