package deliver

import (
	"sync"
	"sync/atomic"

	"github.com/segmentio/kafka-go"
)

// Tracker follows the records one consumer fetched until all their deliveries
// are done, and yields, per partition, the last record of the contiguous done
// prefix: committing it commits everything before it. A record that is done
// early waits for the slower records before it, so an offset is never committed
// past a delivery that is still pending (G13). It is safe for concurrent use.
type Tracker struct {
	mu        sync.Mutex
	parts     map[int]*partition
	pending   atomic.Int64
	idle      chan struct{}         // signalled when pending drops to zero
	committed map[int]int64         // highest offset the broker accepted, per partition
	held      map[int]kafka.Message // offsets Ready returned that were not Committed yet
}

type partition struct {
	q []*Record
}

// Record is one fetched record registered with Add. Its Done is called once per
// delivery; the record is done when all of them are.
type Record struct {
	msg     kafka.Message
	left    atomic.Int32
	done    atomic.Bool
	release func()
	t       *Tracker
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{parts: map[int]*partition{}, idle: make(chan struct{}, 1),
		committed: map[int]int64{}, held: map[int]kafka.Message{}}
}

// Add registers msg, fetched after every record added before it, with n
// deliveries. release runs once, when all n are done; with n == 0 the record is
// done at once.
func (t *Tracker) Add(msg kafka.Message, n int, release func()) *Record {
	// Only what a commit needs: a done record waits here until the next commit
	// (CommitInterval), and its key, value and headers are the bulk of a
	// record's memory.
	r := &Record{msg: kafka.Message{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset}, release: release, t: t}
	r.left.Store(int32(n))
	t.pending.Add(1)
	t.mu.Lock()
	p := t.parts[msg.Partition]
	if p == nil {
		p = &partition{}
		t.parts[msg.Partition] = p
	}
	p.q = append(p.q, r)
	t.mu.Unlock()
	if n == 0 {
		r.finish()
	}
	return r
}

// Done marks one of the record's deliveries done (delivered, or durably handed
// off). Calling it more often than the record has deliveries is a bug.
func (r *Record) Done() {
	if r.left.Add(-1) == 0 {
		r.finish()
	}
}

func (r *Record) finish() {
	if r.done.Swap(true) {
		return
	}
	if r.release != nil {
		r.release()
	}
	if r.t.pending.Add(-1) == 0 {
		select {
		case r.t.idle <- struct{}{}:
		default:
		}
	}
}

// Ready returns the messages to commit now, at most one per partition: the
// highest offset of each partition's new done prefix, merged with what an
// earlier Ready returned and Committed has not confirmed since (a failed commit
// is resent with the next one, never regressed). Nil means nothing to commit.
//
// The queue is in fetch order, which is offset order except after a rebalance:
// kafka-go then fetches the partition again from the committed offset, so the
// queue can read 10 11 12 10 11. The highest offset, not the last entry, is what
// the done prefix covers (everything from the committed offset up to it was
// fetched and is done), and offsets at or below what was already committed are
// skipped.
func (t *Tracker) Ready() []kafka.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, p := range t.parts {
		i := 0
		var last kafka.Message
		for i < len(p.q) && p.q[i].done.Load() {
			if i == 0 || p.q[i].msg.Offset > last.Offset {
				last = p.q[i].msg
			}
			i++
		}
		if i == 0 {
			continue
		}
		clear(p.q[:i])
		p.q = p.q[i:]
		if c, ok := t.committed[id]; ok && last.Offset <= c {
			continue
		}
		if h, ok := t.held[id]; !ok || last.Offset > h.Offset {
			t.held[id] = last
		}
	}
	if len(t.held) == 0 {
		return nil
	}
	out := make([]kafka.Message, 0, len(t.held))
	for _, m := range t.held {
		out = append(out, m)
	}
	return out
}

// Committed records that the broker accepted msgs (as returned by Ready).
func (t *Tracker) Committed(msgs []kafka.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range msgs {
		if c, ok := t.committed[m.Partition]; !ok || m.Offset > c {
			t.committed[m.Partition] = m.Offset
		}
		if h, ok := t.held[m.Partition]; ok && h.Offset <= m.Offset {
			delete(t.held, m.Partition)
		}
	}
}

// Pending is the number of added records not yet done.
func (t *Tracker) Pending() int64 { return t.pending.Load() }

// Idle receives a value (capacity one, never closed) whenever Pending drops to
// zero; a waiter re-checks Pending after waking, since a later Add can follow.
func (t *Tracker) Idle() <-chan struct{} { return t.idle }
