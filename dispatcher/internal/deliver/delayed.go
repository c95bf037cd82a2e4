package deliver

import (
	"context"
	"sync"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// delayed runs a tier consumer's records one partition queue at a time. Each
// partition has its own goroutine that handles its records in fetch order,
// waiting for each one's not-before; the fetch loop never waits, so a record due
// in an hour on partition 0 does not hold back a due record on partition 1.
//
// Commit safety rests on per-partition order: a record reaches the tracker only
// after every earlier record of its partition did, so the tracker's done prefix
// never skips one still waiting. When ctx ends, a queue stops at its head and
// drops the rest: none of them reached the tracker, so none is committed and all
// are fetched again after the restart. Memory stays bounded by the consumer's
// in-flight slots, which every queued record holds.
type delayed struct {
	c      *Consumer
	queues map[int]*partitionQueue
	wg     sync.WaitGroup
}

// partitionQueue is one partition's FIFO of fetched records.
type partitionQueue struct {
	mu   sync.Mutex
	msgs []kafka.Message
	wake chan struct{} // capacity 1: "msgs may be non-empty"
}

func newDelayed(c *Consumer) *delayed {
	return &delayed{c: c, queues: map[int]*partitionQueue{}}
}

// push appends msg to its partition's queue, starting the queue's goroutine on
// first use. Only the fetch loop calls it.
func (d *delayed) push(ctx, workCtx context.Context, msg kafka.Message) {
	if ctx.Err() != nil {
		d.c.release() // stopping: the partition goroutines may be gone
		return
	}
	q := d.queues[msg.Partition]
	if q == nil {
		q = &partitionQueue{wake: make(chan struct{}, 1)}
		d.queues[msg.Partition] = q
		d.wg.Go(func() { d.run(ctx, workCtx, q) })
	}
	q.mu.Lock()
	q.msgs = append(q.msgs, msg)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run handles q's records in order until ctx ends or a record cannot be handled
// (which happens only when ctx or workCtx ended).
func (d *delayed) run(ctx, workCtx context.Context, q *partitionQueue) {
	defer d.dropAll(q)
	for {
		q.mu.Lock()
		if len(q.msgs) == 0 {
			q.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		msg := q.msgs[0]
		q.msgs[0] = kafka.Message{}
		q.msgs = q.msgs[1:]
		q.mu.Unlock()
		if ctx.Err() != nil {
			d.c.release()
			return
		}
		if err := d.c.handle(ctx, workCtx, msg); err != nil {
			d.c.release()
			d.c.log.Debug("tier record left uncommitted at shutdown", zap.Int("partition", msg.Partition),
				zap.Int64("offset", msg.Offset), zap.Error(err))
			return
		}
	}
}

// dropAll releases the slots of records still queued; they stay uncommitted.
func (d *delayed) dropAll(q *partitionQueue) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range q.msgs {
		d.c.release()
	}
	q.msgs = nil
}

// wait returns when every partition goroutine has stopped.
func (d *delayed) wait() { d.wg.Wait() }
