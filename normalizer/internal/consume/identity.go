package consume

import (
	"bytes"
	"context"
	"fmt"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// decided is what the consumer worked out for a batch's events from the state
// and the dedup marks, per event in raw order.
type decided struct {
	// ids are the final event ids: a repeatable event's qualified one.
	ids []string
	// seen is whether ids[n] was marked; adv the advance decision.
	seen []bool
	adv  []bool
	// marks are the re-delivery window marks to write: per unqualified id of a
	// repeatable event that was not itself taken for a re-delivery, its latest
	// receive time in the batch and its final id (produced now or before).
	marks map[string]dedup.WindowMark
}

// decide walks the batch's events in raw order and, per event: gives a
// repeatable one its qualified id (state.Arrive, then state.QualifiedKey) and
// advances the epoch of a non-repeatable one that is not a duplicate; applies
// it to its shipment's state (duplicates too: Apply is idempotent, and an event
// recovered from an abandoned claim was produced but its state never written);
// and records the advance decision. cur is updated in place and every changed
// state is put in changed. When the batch holds repeatable events, their
// qualified ids are checked against the dedup marks in one more Redis round
// trip.
//
// A repeatable event whose exact bytes last arrived (other than as a
// re-delivery) less than Config.RedeliveryWindow earlier, by the gateway's
// receive times (the window mark of its unqualified id, or an earlier event of
// the same batch), is a re-delivery whatever arrived since: it is seen, and
// changes neither epoch nor state. Every other arrival of the bytes, produced
// or a duplicate of what was produced before, refreshes the mark, so a batch
// and a run of one-record batches judge the same records alike.
//
// A repeatable event's epoch step is kept even when its qualified id turns out
// to be marked: that happens only when an earlier attempt produced it and its
// state write was lost (a crash after the produce), and keeping the step
// restores exactly the state that attempt would have written.
func (c *Consumer) decide(ctx context.Context, b *batch, seen []bool, cur []*state.Shipment,
	window map[string]dedup.WindowMark, changed map[string]*state.Shipment) (decided, error) {
	// produced are the repeatable events of this batch that were not
	// re-deliveries, by unqualified id (the marks it will write).
	produced := map[string]dedup.WindowMark{}
	// inWindow returns the mark of the event o re-delivers, if any.
	inWindow := func(o *adapter.Output) (dedup.WindowMark, bool) {
		at := o.Event.Data.ReceivedAt.UnixMilli()
		if !o.Repeatable || o.Event.Data.ReceivedAt.IsZero() {
			return dedup.WindowMark{}, false
		}
		for _, last := range [2]dedup.WindowMark{window[o.Event.ID], produced[o.Event.ID]} {
			if last.At > 0 && at >= last.At && at-last.At <= c.cfg.RedeliveryWindow.Milliseconds() {
				return last, true
			}
		}
		return dedup.WindowMark{}, false
	}
	d := decided{ids: make([]string, b.events), seen: seen[:b.events], adv: make([]bool, b.events), marks: produced}
	set := func(si int, next *state.Shipment) {
		if next != cur[si] {
			cur[si] = next
			changed[b.subjects[si]] = next
		}
	}
	var qualified []int
	inBatch := make(map[string]struct{}, b.events)
	n := 0
	for _, it := range b.items {
		if it.err != nil {
			continue
		}
		for j := range it.outs {
			o := &it.outs[j]
			si := b.subj[n]
			if last, ok := inWindow(o); ok && o.Repeatable {
				// The same bytes arrived less than the re-delivery window
				// earlier (gateway receive times): a provider retry, even if
				// another status arrived in between. It neither steps the epoch
				// nor touches the state. Its id is the event it repeats (empty
				// when a mark written before the id was kept does not say).
				d.ids[n], d.seen[n] = last.ID, true
				n++
				continue
			}
			if o.Repeatable {
				unqualified := o.Event.ID
				next, epoch := state.Arrive(cur[si], o.Event.Data.Status)
				set(si, next)
				o.Event.ID = shipment.EventID(state.QualifiedKey(o.DedupKey, epoch))
				qualified = append(qualified, n)
				if at := o.Event.Data.ReceivedAt.UnixMilli(); at > produced[unqualified].At {
					produced[unqualified] = dedup.WindowMark{At: at, ID: o.Event.ID}
				}
			} else {
				if _, again := inBatch[o.Event.ID]; !again && !seen[n] {
					next, _ := state.Arrive(cur[si], o.Event.Data.Status)
					set(si, next)
				}
				inBatch[o.Event.ID] = struct{}{}
			}
			d.ids[n] = o.Event.ID
			next, adv := state.Apply(cur[si], &o.Event)
			set(si, next)
			d.adv[n] = adv
			n++
		}
	}
	if len(qualified) == 0 {
		return d, nil
	}
	ids := make([]string, len(qualified))
	for k, i := range qualified {
		ids[k] = d.ids[i]
	}
	rctx, cancel := c.redis(ctx)
	defer cancel()
	pipe := c.d.Redis.Pipeline()
	res := c.d.Dedup.SeenIn(rctx, pipe, ids)
	_, _ = pipe.Exec(rctx) // the command carries its own error
	marked, err := res()
	if err != nil {
		return decided{}, err
	}
	if len(marked) != len(ids) {
		return decided{}, fmt.Errorf("checking dedup marks: %d answers for %d ids", len(marked), len(ids))
	}
	for k, i := range qualified {
		d.seen[i] = marked[k]
	}
	return d, nil
}

// withID returns enc with the envelope id replaced by ev.ID. Event ids are
// fixed-length hex, so the id is patched in place (the encoded bytes are this
// event's own); anything unexpected falls back to encoding the event again.
func withID(enc encodedEvent, ev *shipment.Event) (encodedEvent, error) {
	const field = `,"id":"`
	if i := bytes.Index(enc.json, []byte(field)); i >= 0 {
		start := i + len(field)
		if end := bytes.IndexByte(enc.json[start:], '"'); end == len(ev.ID) {
			copy(enc.json[start:], ev.ID)
			return enc, nil
		}
	}
	return encodeEvent(ev)
}

// providerLabel bounds the provider label of a metric: a registered provider
// name, else "other" (the header comes from the gateway, but a metric label
// must not take arbitrary input).
func providerLabel(p string) string {
	for _, name := range adapter.Providers() {
		if p == name {
			return p
		}
	}
	return "other"
}

// countDropped counts, per provider and field, the fields the adapters left out
// of the events of committed records (duplicates included: the field was
// dropped from what the provider sent).
func countDropped(m *Metrics, items []item) {
	for _, it := range items {
		for _, o := range it.outs {
			for _, f := range o.Dropped {
				m.FieldsDropped.WithLabelValues(providerLabel(it.provider), fieldLabel(f)).Inc()
			}
		}
	}
}

// maxFieldLabel bounds a dropped-field label; names come from adapter code.
const maxFieldLabel = 64

func fieldLabel(f string) string { return truncate(f, maxFieldLabel) }
