package deliver_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/deliver"
	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
)

// With a queue of one and the lanes stopped, each lane keeps the first delivery
// that maps to it and hands off every later one, so the number kept is the
// number of distinct lanes the keys use.
func TestEngine_KeysSpreadOverLanes(t *testing.T) {
	tests := map[string]struct {
		lanes int
		keys  []string
	}{
		"one lane takes every key":       {lanes: 1, keys: []string{"dash:A1", "komerce:B2", ""}},
		"four lanes":                     {lanes: 4, keys: []string{"dash:A1", "dash:A2", "komerce:B2", "sendstack:C3", ""}},
		"more lanes than keys":           {lanes: 64, keys: []string{"dash:A1", "kiriminaja:JX-1"}},
		"many keys spread over 16 lanes": {lanes: 16, keys: manyKeys(200)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := &recordingSink{}
			te := newTestEngine(t, s, tc.lanes, 1)
			var done sync.WaitGroup
			for i, k := range tc.keys {
				done.Add(1)
				te.eng.Submit(t.Context(), "s", &deliver.Job{Delivery: sink.Delivery{Key: []byte(k), ID: fmt.Sprint(i), Body: []byte(`{}`)},
					Tier: deliver.Canonical, Done: done.Done})
			}
			// What each lane kept was fixed when Submit returned; starting the lanes
			// now delivers exactly that, and everything else was handed off.
			te.start(t)
			done.Wait()
			used := len(s.delivered())
			assert.Len(t, te.w.written(), len(tc.keys)-used, "the rest handed off")
			assert.GreaterOrEqual(t, used, 1)
			assert.LessOrEqual(t, used, min(tc.lanes, len(tc.keys)))
			if tc.lanes == 1 {
				assert.Equal(t, 1, used, "one lane")
			}
			if len(tc.keys) >= 10*tc.lanes {
				assert.Equal(t, tc.lanes, used, "every lane gets keys")
			}
		})
	}
}

// Deliveries of one key reach the sink in submit order, however many lanes the
// sink has and however the other keys interleave: a key never moves lanes.
func TestEngine_OneKeysDeliveriesKeepSubmitOrder(t *testing.T) {
	for _, lanes := range []int{1, 4, 16} {
		t.Run(fmt.Sprintf("%d lanes", lanes), func(t *testing.T) {
			s := &recordingSink{delay: 200 * time.Microsecond}
			te := newTestEngine(t, s, lanes, 1000)
			ctx := te.start(t)
			keys := manyKeys(40)
			const perKey = 5
			var done sync.WaitGroup
			for n := range perKey {
				for _, k := range keys {
					done.Add(1)
					te.eng.Submit(ctx, "s", &deliver.Job{Delivery: sink.Delivery{Key: []byte(k), ID: fmt.Sprintf("%s#%d", k, n)},
						Tier: deliver.Canonical, Done: done.Done})
				}
			}
			done.Wait()
			got := s.delivered()
			require.Len(t, got, perKey*len(keys))
			for _, k := range keys {
				var seq []string
				for _, id := range got {
					if len(id) > len(k) && id[:len(k)+1] == k+"#" {
						seq = append(seq, id)
					}
				}
				want := make([]string, perKey)
				for n := range want {
					want[n] = fmt.Sprintf("%s#%d", k, n)
				}
				assert.Equal(t, want, seq, "key %s", k)
			}
			assert.Empty(t, te.w.written(), "nothing handed off")
		})
	}
}

// Every delivery of one key queues on one lane: with four lanes of five, the
// sixth delivery of a key is handed off, and the five kept run in submit order.
func TestEngine_SubmitQueuesOnTheKeysLane(t *testing.T) {
	s := &recordingSink{}
	te := newTestEngine(t, s, 4, 5)
	var done sync.WaitGroup
	for i := range 6 {
		done.Add(1)
		te.eng.Submit(t.Context(), "s", &deliver.Job{Delivery: sink.Delivery{Key: []byte("dash:A1"), ID: fmt.Sprint(i), Body: []byte(`{}`)},
			Tier: deliver.Canonical, Done: done.Done})
	}
	require.Eventually(t, func() bool { return len(te.w.written()) == 1 }, 10*time.Second, time.Millisecond)
	meta, err := retry.ParseMeta(te.w.written()[0])
	require.NoError(t, err)
	assert.Equal(t, "5", meta.ID, "the delivery that did not fit")
	assert.Empty(t, s.delivered(), "lanes not started: nothing delivered yet")
	te.start(t)
	done.Wait()
	assert.Equal(t, []string{"0", "1", "2", "3", "4"}, s.delivered(), "queued in submit order")
}

func TestEngine_FullLaneHandsOff(t *testing.T) {
	tests := map[string]struct {
		queue    int
		tier     int // tier the records came from
		submits  int
		wantTier int // tier the busy ones go to; -1 DLQ
	}{
		"canonical record, queue of one":     {queue: 1, tier: deliver.Canonical, submits: 3, wantTier: 0},
		"canonical record, queue of three":   {queue: 3, tier: deliver.Canonical, submits: 5, wantTier: 0},
		"first tier record goes to the next": {queue: 2, tier: 0, submits: 4, wantTier: 1},
		"last tier record goes to the DLQ":   {queue: 1, tier: 1, submits: 2, wantTier: -1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := &recordingSink{}
			te := newTestEngine(t, s, 1, tc.queue)
			var (
				mu   sync.Mutex
				done = map[string]int{}
			)
			for i := range tc.submits {
				id := fmt.Sprint(i)
				te.eng.Submit(t.Context(), "s", &deliver.Job{
					Delivery: sink.Delivery{Key: []byte("dash:A1"), ID: id, Body: []byte(`{}`)}, Tier: tc.tier,
					Meta: retry.Meta{Attempt: max(tc.tier+1, 0)},
					Done: func() { mu.Lock(); done[id]++; mu.Unlock() },
				}) // returns at once: the full lane's hand-off runs in the background
			}
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(done) == tc.submits-tc.queue
			}, 10*time.Second, time.Millisecond, "every busy delivery handed off and done")
			msgs := te.w.written()
			require.Len(t, msgs, tc.submits-tc.queue)
			var handedOff []string
			for _, m := range msgs {
				meta, err := retry.ParseMeta(m)
				require.NoError(t, err)
				assert.Equal(t, "s", meta.Sink)
				assert.Equal(t, max(tc.tier+1, 0), meta.Attempt, "a busy lane is not a failed attempt")
				assert.Contains(t, meta.LastError, deliver.ErrBusy.Error())
				if tc.wantTier < 0 {
					assert.Equal(t, "dlq", m.Topic)
				} else {
					assert.Equal(t, "retry."+retry.Label(testDelays[tc.wantTier]), m.Topic)
				}
				handedOff = append(handedOff, meta.ID)
			}
			var wantHandedOff []string
			for i := tc.queue; i < tc.submits; i++ {
				wantHandedOff = append(wantHandedOff, fmt.Sprint(i))
			}
			assert.ElementsMatch(t, wantHandedOff, handedOff, "the first %d stay queued", tc.queue)
			outcome := "busy"
			if tc.wantTier < 0 {
				outcome = "dead_lettered"
			}
			assert.Equal(t, float64(tc.submits-tc.queue),
				metric(t, te.reg, "dispatcher_deliveries_total", map[string]string{"sink": "s", "outcome": outcome}))

			te.start(t)
			require.Eventually(t, func() bool { return len(s.delivered()) == tc.queue }, 10*time.Second, time.Millisecond)
			want := make([]string, tc.queue)
			for i := range want {
				want[i] = fmt.Sprint(i)
			}
			assert.Equal(t, want, s.delivered(), "the lane kept what fit, in order")
			mu.Lock()
			defer mu.Unlock()
			assert.Len(t, done, tc.submits)
			for id, n := range done {
				assert.Equal(t, 1, n, "done called once for %s", id)
			}
		})
	}
}

func manyKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("dash:SHP%06d", i)
	}
	return out
}
