package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
)

func (q *partitionQueue) push(c *call) {
	q.mu.Lock()
	q.pending = append(q.pending, c)
	q.mu.Unlock()
}

// requeue puts calls back at the front, ahead of everything queued since.
func (q *partitionQueue) requeue(calls []*call) {
	q.mu.Lock()
	q.pending = append(calls, q.pending...)
	q.mu.Unlock()
}

// drain removes and returns every pending call.
func (q *partitionQueue) drain() []*call {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.pending
	q.pending = nil
	return out
}

// take removes the calls that fit in one request (at least one, if any).
func (q *partitionQueue) take(maxBytes int64) []*call {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil
	}
	n, size := 0, int64(0)
	for n < len(q.pending) && (n == 0 || size+q.pending[n].bytes <= maxBytes) {
		size += q.pending[n].bytes
		n++
	}
	out := make([]*call, n)
	copy(out, q.pending[:n])
	rest := copy(q.pending, q.pending[n:])
	clear(q.pending[rest:])
	q.pending = q.pending[:rest]
	return out
}

// run is the sender: one round at a time, each carrying everything that
// queued up meanwhile. After a round that carried more than one call (records
// arrived while a request was in flight: the producer is busy), the next round
// starts no sooner than Linger after it started. On Close it sends what is
// queued at once, then returns.
func (p *Producer) run() {
	defer close(p.stopped)
	var last time.Time // when the last round started, if it carried more than one call
	flush := func() {
		for p.round() > 0 {
		}
	}
	for {
		select {
		case <-p.kick:
		case <-p.stop:
			flush()
			return
		}
		for {
			if wait := p.opts.Linger - time.Since(last); !last.IsZero() && wait > 0 {
				if !p.linger(wait) {
					flush()
					return
				}
			}
			start := time.Now()
			calls := p.round()
			if calls == 0 {
				break
			}
			last = time.Time{}
			if calls > 1 {
				last = start
			}
		}
	}
}

// linger waits up to d, or until LingerCalls calls are queued: in a closed
// loop (a fixed number of callers, each waiting for its ack) the records a
// longer wait would gather cannot come, so a full enough round goes at once.
// It reports false when Close was called meanwhile.
func (p *Producer) linger(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for p.pendingCalls() < p.opts.LingerCalls {
		select {
		case <-t.C:
			return true
		case <-p.kick:
		case <-p.stop:
			return false
		}
	}
	return true
}

// pendingCalls is the number of calls queued on every partition.
func (p *Producer) pendingCalls() int {
	p.mu.Lock()
	parts := p.parts
	p.mu.Unlock()
	n := 0
	for _, q := range parts {
		q.mu.Lock()
		n += len(q.pending)
		q.mu.Unlock()
	}
	return n
}

// share is one partition's part of a produce request.
type share struct {
	q     *partitionQueue
	calls []*call
}

// round sends what is queued, one request per leader, and returns how many
// calls it carried (0: nothing was queued).
func (p *Producer) round() int {
	p.mu.Lock()
	parts, leaders := p.parts, p.leaders
	p.mu.Unlock()
	var groups map[int32][]share
	n := 0
	for _, q := range parts {
		calls := q.take(p.opts.MaxBatchBytes)
		if len(calls) == 0 {
			continue
		}
		n += len(calls)
		if groups == nil {
			groups = map[int32][]share{}
		}
		groups[leaders[q.id]] = append(groups[leaders[q.id]], share{q: q, calls: calls})
	}
	if len(groups) == 0 {
		return 0
	}
	retry := false
	if len(groups) == 1 {
		for _, g := range groups {
			retry = p.send(g)
		}
	} else {
		var wg sync.WaitGroup
		var requeued atomic.Bool
		for _, g := range groups {
			wg.Go(func() {
				if p.send(g) {
					requeued.Store(true)
				}
			})
		}
		wg.Wait()
		retry = requeued.Load()
	}
	if retry {
		// Something was requeued after a retriable error (leader moved, broker
		// connection lost): refresh the layout and pause briefly before the
		// next round, as kafka-go's Writer backs off between attempts.
		p.refreshAsync()
		// After a broker restart the transport may still pool several connections
		// to the old process; drop them all rather than fail once per connection.
		ResetTransport(p.client.Transport)
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// send writes one request with the shares of one leader and completes or
// requeues their calls. It reports whether anything was requeued.
func (p *Producer) send(group []share) (requeued bool) {
	start := time.Now()
	records := 0
	req := &produceAPI.Request{Acks: int16(kafka.RequireAll)}
	tp := produceAPI.RequestTopic{Topic: p.topic, Partitions: make([]produceAPI.RequestPartition, 0, len(group))}
	for _, sh := range group {
		n := 0
		for _, c := range sh.calls {
			n += len(c.msgs)
		}
		recs := make([]kafka.Record, 0, n)
		for _, c := range sh.calls {
			for _, m := range c.msgs {
				t := m.Time
				if t.IsZero() {
					t = c.at
				}
				recs = append(recs, kafka.Record{Time: t, Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value), Headers: m.Headers})
			}
		}
		records += n
		tp.Partitions = append(tp.Partitions, produceAPI.RequestPartition{
			Partition: int32(sh.q.id),
			RecordSet: protocol.RecordSet{Attributes: protocol.Attributes(p.opts.Compression) & 7, Records: kafka.NewRecordReader(recs...)},
		})
	}
	req.Topics = []produceAPI.RequestTopic{tp}
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.WriteTimeout)
	defer cancel()
	req.Timeout = int32(p.opts.WriteTimeout / time.Millisecond)

	errs := make(map[int32]error, len(group))
	res, err := p.client.Transport.RoundTrip(ctx, p.client.Addr, req)
	if err == nil {
		r, ok := res.(*produceAPI.Response)
		if !ok {
			err = fmt.Errorf("unexpected produce response %T", res)
		} else {
			for _, t := range r.Topics {
				for _, rp := range t.Partitions {
					if rp.ErrorCode != 0 {
						errs[rp.Partition] = kafka.Error(rp.ErrorCode)
					} else if len(rp.RecordErrors) > 0 {
						errs[rp.Partition] = &RecordError{Index: rp.RecordErrors[0].BatchIndex, Message: rp.RecordErrors[0].BatchIndexErrorMessage}
					}
				}
			}
		}
	}
	if p.opts.Observe != nil {
		p.opts.Observe(records, time.Since(start), err)
	}
	for _, sh := range group {
		perr := err
		if perr == nil {
			perr = errs[int32(sh.q.id)]
		}
		if perr == nil {
			for _, c := range sh.calls {
				c.done <- nil
			}
			continue
		}
		if retriable(perr) && sh.calls[0].attempts+1 < p.opts.MaxAttempts {
			for _, c := range sh.calls {
				c.attempts++
			}
			sh.q.requeue(sh.calls)
			requeued = true
			continue
		}
		// Everything queued behind the failed calls fails with them: sent later,
		// it would be acked before the failed records' retry (their caller
		// re-sends or spools them) and reorder the partition.
		werr := fmt.Errorf("producing to %s/%d: %w", p.topic, sh.q.id, perr)
		for _, c := range append(sh.calls, sh.q.drain()...) {
			c.done <- werr
		}
	}
	return requeued
}

// retriable reports errors worth another attempt: Kafka's retriable error
// codes (leader moved, not enough replicas, ...) and lost or refused
// connections (the transport reconnects on the next attempt).
func retriable(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED)
}
