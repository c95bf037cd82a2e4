package consume

import (
	"context"
	"fmt"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/multi"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// outcome is what a successful attempt did, for metrics after the commit.
type outcome struct {
	produced, dups, notAdvancing, unknown map[string]int // by provider
	byStatus                              map[[2]string]int
	dlq                                   map[string]int
	recovered                             int
	unknownValues                         [][2]string // provider, provider status
}

func newOutcome() *outcome {
	return &outcome{
		produced: map[string]int{}, dups: map[string]int{}, notAdvancing: map[string]int{},
		unknown: map[string]int{}, byStatus: map[[2]string]int{}, dlq: map[string]int{},
	}
}

// attempt runs the batch once: one Redis round trip (claim, dedup check, state
// read; skipped when pre holds them), one more only when the batch holds
// repeatable events (their qualified ids' dedup check, see decide), one Kafka
// write, and one Redis round trip (state, marks, release; plus next's claim and
// reads when next is set, see finish). On error it returns a *StepError naming
// the failing step; the claims it may hold stay in Redis, so the next attempt
// first recovers what this one might have produced.
func (c *Consumer) attempt(ctx context.Context, b *batch, pre *begun, next *batch) (*outcome, *begun, error) {
	out := newOutcome()
	var bg begun
	if pre != nil {
		bg = *pre
	} else {
		var err error
		if bg, out.recovered, err = c.begin(ctx, b); err != nil {
			return nil, nil, err
		}
	}
	changed := map[string]*state.Shipment{}
	dec, err := c.decide(ctx, b, bg.seen, bg.cur, bg.window, changed)
	if err != nil {
		return nil, nil, failed(StepDedupCheck, err)
	}
	w, err := c.build(b, dec, bg.seen, bg.recoveredFrom, out)
	if err != nil {
		return nil, nil, failed(StepEncode, err)
	}
	if len(w.msgs) > 0 {
		if c.now().Sub(bg.at) > c.cfg.Lease/2 {
			return nil, nil, failed(StepLease, ErrLeaseAtRisk)
		}
		if err := c.d.Producer.WriteMessages(ctx, w.msgs...); err != nil {
			return nil, nil, failed(StepProduce, fmt.Errorf("producing %d records: %w", len(w.msgs), err))
		}
	}
	nextPre, err := c.finish(ctx, w, changed, bg.held, next)
	if err != nil {
		return nil, nil, err
	}
	return out, nextPre, nil
}

// records is what an attempt writes: the Kafka records, and what its final
// transaction records of them.
type records struct {
	// msgs are the canonical records and dead letters, in raw order.
	msgs []kafka.Message
	// produced are the ids to mark: every event and dead part in msgs.
	produced []string
	// windowed are the re-delivery window marks the attempt writes (decided.marks).
	windowed map[string]dedup.WindowMark
	// ix is the lookup index's part of the transaction (nil without an index).
	ix *lookup.Batch
}

// build turns the batch's mapped records into the records to write, in raw
// order, with the decisions of dec (final ids, data.advances) and seen (the dead
// parts' marks): an event or dead part already marked, or already emitted in this
// batch, is a duplicate and left out. It counts everything in out. Its only error
// is re-encoding an event whose id the state qualified.
func (c *Consumer) build(b *batch, dec decided, seen []bool, recoveredFrom map[string]string, out *outcome) (records, error) {
	now := c.now()
	emitted := make(map[string]struct{}, len(b.ids))
	msgs := make([]kafka.Message, 0, len(b.ids)+4)
	produced := make([]string, 0, len(b.ids))
	// One allocation each for every record value and header of the attempt.
	arena := make([]byte, 0, b.size+len(b.ids)*256)
	headers := make([]kafka.Header, 0, len(b.ids)*canonicalHeaders)
	n, dn := 0, b.events
	ix := c.d.Index.Batch()
	for _, it := range b.items {
		if it.err != nil {
			reason := adapter.ReasonOf(it.err)
			out.dlq[reason]++
			ix.Dead(it.msg, reason, now)
			msgs = append(msgs, deadLetter(c.cfg.DLQTopic, c.cfg.Service, it.msg, it.err, now))
			c.log.Warn("dead-lettering raw record", zap.String("source", source(it.msg)),
				zap.String("provider", it.provider), zap.String("reason", reason))
			continue
		}
		for j := range it.outs {
			o := &it.outs[j]
			id, dup, adv := dec.ids[n], dec.seen[n], dec.adv[n]
			n++
			if _, again := emitted[id]; dup || again {
				out.dups[o.Event.Data.Provider]++
				switch {
				case id == "":
				case !again && recoveredFrom[id] == source(it.msg):
					// This record's own event, produced by an attempt whose
					// final transaction never ran: index it as the record's.
					o.Event.Data.Advances = adv
					ix.Event(it.msg, &o.Event)
				default:
					ix.Duplicate(it.msg, id)
				}
				continue
			}
			emitted[id] = struct{}{}
			o.Event.Data.Advances = adv
			if o.Repeatable {
				enc, err := withID(it.enc[j], &o.Event)
				if err != nil {
					return records{}, err
				}
				it.enc[j] = enc
			}
			var m kafka.Message
			m, arena, headers = canonicalMessage(c.cfg.CanonicalTopic, o, it.enc[j], it.msg, arena, headers)
			msgs = append(msgs, m)
			produced = append(produced, id)
			ix.Event(it.msg, &o.Event)
			out.produced[o.Event.Data.Provider]++
			out.byStatus[[2]string{o.Event.Data.Provider, string(o.Event.Data.Status)}]++
			if !adv {
				out.notAdvancing[o.Event.Data.Provider]++
			}
			if o.Event.Data.Status == shipment.StatusUnknown {
				out.unknown[o.Event.Data.Provider]++
				out.unknownValues = append(out.unknownValues, [2]string{o.Event.Data.Provider, o.Event.Data.ProviderStatus})
			}
		}
		// A bad part dead-letters the raw record once (its id is marked with the
		// events), while the body's other parts were emitted above.
		for _, d := range it.dead {
			id := b.ids[dn]
			dup := seen[dn]
			dn++
			if _, again := emitted[id]; dup || again {
				continue
			}
			emitted[id] = struct{}{}
			produced = append(produced, id)
			out.dlq[d.Reason]++
			ix.Dead(it.msg, d.Reason, now)
			msgs = append(msgs, deadLetter(c.cfg.DLQTopic, c.cfg.Service, it.msg, d, now))
			c.log.Warn("dead-lettering one part of a raw record", zap.String("source", source(it.msg)),
				zap.String("provider", it.provider), zap.String("reason", d.Reason), zap.Error(d))
		}
	}

	return records{msgs: msgs, produced: produced, windowed: dec.marks, ix: ix}, nil
}

// finish writes, in one MULTI after the produce, the changed state, the dedup and
// re-delivery window marks, the lookup index and, last, the release of held (a
// write Redis refuses aborts the transaction, so a claim is never released without
// its marks; see inflight.Claims.ReleaseIn). When next is set, its claim and reads
// follow on the same connection, so they run after the transaction, and its begun
// is returned when they hold every claim.
func (c *Consumer) finish(ctx context.Context, w records, changed map[string]*state.Shipment,
	held []inflight.Held, next *batch) (*begun, error) {
	rctx, cancel := c.redis(ctx)
	defer cancel()
	pipe := c.d.Redis.Pipeline()
	tx := multi.Begin(rctx, pipe)
	if err := c.d.States.PutIn(rctx, pipe, changed); err != nil {
		return nil, failed(StepStateWrite, err)
	}
	c.d.Dedup.MarkIn(rctx, pipe, w.produced)
	// Kept twice the window: the window is measured on receive times, which may
	// trail the wall clock while a backlog is worked off.
	c.d.Dedup.MarkReceivedIn(rctx, pipe, w.windowed, 2*c.cfg.RedeliveryWindow)
	w.ix.Queue(rctx, pipe)
	c.d.Claims.ReleaseIn(rctx, pipe, held)
	tx.End(rctx, pipe)
	var nextRes func() (begun, inflight.Result, error)
	if next != nil {
		var err error
		if nextRes, err = c.queueBegin(rctx, pipe, next); err != nil {
			nextRes = nil
		}
	}
	_, _ = pipe.Exec(rctx) // each command carries its own error
	if err := tx.Err(); err != nil {
		return nil, failed(StepFinish, fmt.Errorf("writing state, dedup marks and releasing claims: %w", err))
	}
	if nextRes == nil {
		return nil, nil
	}
	// Anything short of a clean claim is left to next's own attempt: a claim
	// taken here and not used is its own stale claim then, and recovered.
	if nb, res, err := nextRes(); err == nil && len(res.Held) > 0 {
		return &nb, nil
	}
	return nil, nil
}
