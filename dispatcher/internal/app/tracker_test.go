package app

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// commitRecorder is a Reader that records what it is asked to commit and can
// fail the next commit. It never fetches: these tests drive the tracker directly.
type commitRecorder struct {
	mu      sync.Mutex
	calls   []map[int]int64 // partition -> offset, one map per CommitMessages call
	failNow bool
}

func (r *commitRecorder) FetchMessage(ctx context.Context) (kafka.Message, error) {
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func (r *commitRecorder) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := map[int]int64{}
	for _, m := range msgs {
		call[m.Partition] = m.Offset
	}
	r.calls = append(r.calls, call)
	if r.failNow {
		r.failNow = false
		return errors.New("coordinator not available")
	}
	return nil
}

func (r *commitRecorder) Close() error { return nil }

// trackerStep is one action on a consumer's tracker: fetch records, finish one
// delivery of a record, or run a commit and check what it sent.
type trackerStep struct {
	fetch      []po // records fetched, in order, each with deliveries deliveries
	deliveries int
	done       po // finishes one delivery of the oldest unfinished entry for it
	commit     bool
	failCommit bool          // the commit request fails (its offsets are retried later)
	want       map[int]int64 // with commit: partition -> offset sent; nil: no request
}

// po is a (partition, offset) pair.
type po struct {
	p   int
	off int64
}

func fetch(n int, recs ...po) trackerStep       { return trackerStep{fetch: recs, deliveries: n} }
func done(p int, off int64) trackerStep         { return trackerStep{done: po{p, off}} }
func commitWant(want map[int]int64) trackerStep { return trackerStep{commit: true, want: want} }
func commitFails(want map[int]int64) trackerStep {
	return trackerStep{commit: true, failCommit: true, want: want}
}
func offs(p int, offsets ...int64) []po {
	out := make([]po, len(offsets))
	for i, o := range offsets {
		out[i] = po{p, o}
	}
	return out
}

func TestTracker_CommitsContiguousDonePrefix(t *testing.T) {
	tests := map[string]struct {
		steps []trackerStep
	}{
		"in order": {steps: []trackerStep{
			fetch(1, offs(0, 0, 1, 2)...), done(0, 0), done(0, 1), done(0, 2),
			commitWant(map[int]int64{0: 2}),
			commitWant(nil),
		}},
		"out of order completion waits for the gap": {steps: []trackerStep{
			fetch(1, offs(0, 0, 1, 2, 3)...), done(0, 2), done(0, 3),
			commitWant(nil),
			done(0, 0),
			commitWant(map[int]int64{0: 0}),
			done(0, 1),
			commitWant(map[int]int64{0: 3}),
		}},
		"partitions are independent": {steps: []trackerStep{
			fetch(1, po{0, 5}, po{1, 7}, po{0, 6}, po{1, 8}), done(1, 7), done(0, 6),
			commitWant(map[int]int64{1: 7}),
			done(0, 5),
			commitWant(map[int]int64{0: 6}),
			done(1, 8),
			commitWant(map[int]int64{1: 8}),
		}},
		"a record waits for all its deliveries": {steps: []trackerStep{
			fetch(3, po{0, 4}), done(0, 4), done(0, 4),
			commitWant(nil),
			done(0, 4),
			commitWant(map[int]int64{0: 4}),
		}},
		"a record with no deliveries is done at once": {steps: []trackerStep{
			fetch(0, offs(2, 9, 10)...),
			commitWant(map[int]int64{2: 10}),
		}},
		"a re-fetch after a rebalance never commits backwards": {steps: []trackerStep{
			fetch(1, offs(0, 10, 11)...), done(0, 10), done(0, 11),
			commitWant(map[int]int64{0: 11}),
			// The commit reached the broker after the rebalance read the old offset.
			fetch(1, offs(0, 10, 11, 12)...), done(0, 10), done(0, 11),
			commitWant(nil),
			done(0, 12),
			commitWant(map[int]int64{0: 12}),
		}},
		"a re-fetch mid-queue commits the highest done offset": {steps: []trackerStep{
			fetch(1, offs(0, 10, 11, 12)...), done(0, 10), done(0, 11), done(0, 12),
			fetch(1, po{0, 10}), done(0, 10),
			commitWant(map[int]int64{0: 12}),
		}},
		"a pending record holds back a later fetch after a reassignment": {steps: []trackerStep{
			fetch(1, offs(0, 10, 11)...), done(0, 10),
			// The partition was away; its new owner committed up to 29.
			fetch(1, po{0, 30}), done(0, 30),
			commitWant(map[int]int64{0: 10}),
			done(0, 11),
			commitWant(map[int]int64{0: 30}),
		}},
		"a failed commit is resent with the next one and never regresses": {steps: []trackerStep{
			fetch(1, offs(0, 0, 1)...), fetch(1, po{1, 3}), done(0, 0), done(0, 1), done(1, 3),
			commitFails(map[int]int64{0: 1, 1: 3}),
			// A rebalance re-reads partition 0 from the broker's older offset.
			fetch(1, offs(0, 0)...), done(0, 0),
			commitWant(map[int]int64{0: 1, 1: 3}),
			commitWant(nil),
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := &commitRecorder{}
			c := newConsumer("test", r, -1, nil, nil, Config{MaxInFlight: 100, CommitInterval: 1}, newMetrics(nil), zap.NewNop())
			var fetched []*entry
			for i, s := range tc.steps {
				switch {
				case s.fetch != nil:
					for _, rec := range s.fetch {
						c.slots <- struct{}{}
						fetched = append(fetched, c.tr.add(kafka.Message{Partition: rec.p, Offset: rec.off}, s.deliveries, c.release))
					}
				case s.commit:
					r.mu.Lock()
					before := len(r.calls)
					r.failNow = s.failCommit
					r.mu.Unlock()
					err := c.commit(t.Context())
					assert.Equal(t, s.failCommit, err != nil, "step %d: commit error %v", i, err)
					r.mu.Lock()
					calls := r.calls[before:]
					r.mu.Unlock()
					if s.want == nil {
						assert.Empty(t, calls, "step %d: no commit expected", i)
					} else if assert.Len(t, calls, 1, "step %d", i) {
						assert.Equal(t, s.want, calls[0], "step %d", i)
					}
				default:
					e := oldestPending(fetched, s.done)
					require.NotNil(t, e, "step %d: no pending entry %v", i, s.done)
					e.deliveryDone()
				}
			}
			assert.Equal(t, pendingCount(fetched), c.tr.inflight(), "inflight counts unfinished records")
			assert.Len(t, c.slots, int(c.tr.inflight()), "every finished record released its slot")
		})
	}
}

func oldestPending(entries []*entry, rec po) *entry {
	for _, e := range entries {
		if e.msg.Partition == rec.p && e.msg.Offset == rec.off && !e.done.Load() {
			return e
		}
	}
	return nil
}

func pendingCount(entries []*entry) int64 {
	var n int64
	for _, e := range entries {
		if !e.done.Load() {
			n++
		}
	}
	return n
}
