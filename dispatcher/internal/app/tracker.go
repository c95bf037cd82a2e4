package app

import (
	"sync"
	"sync/atomic"

	"github.com/segmentio/kafka-go"
)

// tracker follows the records one consumer fetched until all their deliveries
// are done, and yields, per partition, the last record of the contiguous done
// prefix: committing it commits everything before it. A record that is done
// early waits for the slower records before it, so an offset is never committed
// past a delivery that is still pending (G13).
type tracker struct {
	mu        sync.Mutex
	parts     map[int]*partition
	pending   atomic.Int64
	idle      chan struct{} // signalled when pending drops to zero
	committed map[int]int64 // highest committed offset per partition
}

type partition struct {
	q []*entry
}

type entry struct {
	msg     kafka.Message
	left    atomic.Int32
	done    atomic.Bool
	release func()
	t       *tracker
}

func newTracker() *tracker {
	return &tracker{parts: map[int]*partition{}, idle: make(chan struct{}, 1), committed: map[int]int64{}}
}

// add registers msg with n deliveries. release runs once when all are done.
// With n == 0 the record is done at once.
func (t *tracker) add(msg kafka.Message, n int, release func()) *entry {
	e := &entry{msg: msg, release: release, t: t}
	e.left.Store(int32(n))
	t.pending.Add(1)
	t.mu.Lock()
	p := t.parts[msg.Partition]
	if p == nil {
		p = &partition{}
		t.parts[msg.Partition] = p
	}
	p.q = append(p.q, e)
	t.mu.Unlock()
	if n == 0 {
		e.finish()
	}
	return e
}

// deliveryDone marks one of the entry's deliveries done.
func (e *entry) deliveryDone() {
	if e.left.Add(-1) == 0 {
		e.finish()
	}
}

func (e *entry) finish() {
	if e.done.Swap(true) {
		return
	}
	if e.release != nil {
		e.release()
	}
	if e.t.pending.Add(-1) == 0 {
		select {
		case e.t.idle <- struct{}{}:
		default:
		}
	}
}

// ready pops each partition's done prefix and returns the message with the
// highest offset in it, skipping offsets at or below what was already committed.
// The queue is in fetch order, which is offset order except after a rebalance:
// kafka-go then fetches the partition again from the committed offset, so the
// queue can read 10 11 12 10 11. The highest offset, not the last entry, is what
// the done prefix covers (everything from the committed offset up to it was
// fetched and is done).
func (t *tracker) ready() []kafka.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []kafka.Message
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
		out = append(out, last)
	}
	return out
}

// markCommitted records offsets that the broker accepted.
func (t *tracker) markCommitted(msgs []kafka.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range msgs {
		if c, ok := t.committed[m.Partition]; !ok || m.Offset > c {
			t.committed[m.Partition] = m.Offset
		}
	}
}

// inflight is the number of records not yet done.
func (t *tracker) inflight() int64 { return t.pending.Load() }
