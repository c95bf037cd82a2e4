package deliver_test

import (
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/deliver"
)

// trackerStep is one action on a tracker: fetch records, finish one delivery of
// a record, or commit and check what was sent.
type trackerStep struct {
	fetch      []po // records fetched, in order, each with deliveries deliveries
	deliveries int
	done       po // finishes one delivery of the oldest unfinished record for it
	commit     bool
	failCommit bool          // the commit request fails (Committed is not called)
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

// tracked is one record the test added, with the deliveries it has left.
type tracked struct {
	po
	left int
	rec  *deliver.Record
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
			tr := deliver.NewTracker()
			released := 0
			var recs []*tracked
			for i, s := range tc.steps {
				switch {
				case s.fetch != nil:
					for _, p := range s.fetch {
						recs = append(recs, &tracked{po: p, left: s.deliveries,
							rec: tr.Add(kafka.Message{Partition: p.p, Offset: p.off}, s.deliveries, func() { released++ })})
					}
				case s.commit:
					msgs := tr.Ready()
					if s.want == nil {
						assert.Empty(t, msgs, "step %d: no commit expected", i)
						continue
					}
					got := map[int]int64{}
					for _, m := range msgs {
						_, dup := got[m.Partition]
						assert.False(t, dup, "step %d: one message per partition", i)
						got[m.Partition] = m.Offset
					}
					assert.Equal(t, s.want, got, "step %d", i)
					if !s.failCommit {
						tr.Committed(msgs)
					}
				default:
					r := oldestPending(recs, s.done)
					require.NotNil(t, r, "step %d: no pending record %v", i, s.done)
					r.left--
					r.rec.Done()
				}
			}
			pending := 0
			for _, r := range recs {
				if r.left > 0 {
					pending++
				}
			}
			assert.Equal(t, int64(pending), tr.Pending(), "Pending counts unfinished records")
			assert.Equal(t, len(recs)-pending, released, "every finished record ran release once")
		})
	}
}

// Idle is signalled when the last pending record finishes.
func TestTracker_IdleWhenNothingPending(t *testing.T) {
	tr := deliver.NewTracker()
	a := tr.Add(kafka.Message{Offset: 0}, 1, nil)
	b := tr.Add(kafka.Message{Offset: 1}, 2, nil)
	a.Done()
	b.Done()
	select {
	case <-tr.Idle():
		t.Fatal("idle while a delivery is pending")
	default:
	}
	b.Done()
	select {
	case <-tr.Idle():
	default:
		t.Fatal("not idle after the last delivery")
	}
	assert.Zero(t, tr.Pending())
}

func oldestPending(recs []*tracked, p po) *tracked {
	for _, r := range recs {
		if r.po == p && r.left > 0 {
			return r
		}
	}
	return nil
}
