package consume

import (
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// batch is a collected batch of raw records with everything that can be worked
// out before touching Redis or Kafka: the adapters' outputs, each event encoded
// (data.advances left open), the ids, subjects and raw partitions to look up.
type batch struct {
	msgs  []kafka.Message
	items []item
	// ids are the ids to check for dedup marks: first one per event, in raw
	// order (events) of them, then one per dead part (deadPartID), in raw order.
	// A repeatable event's id here is its unqualified one (see attempt).
	ids    []string
	events int
	// subj is per event, in raw order; it indexes subjects.
	subj     []int
	subjects []string
	// repeatable counts the events whose identity the state qualifies.
	repeatable int
	// parts are the raw partitions ("topic:partition") the batch holds.
	parts []string
	// size is the encoded bytes of every event, for one allocation per attempt.
	size  int
	start time.Time
	// fetchErr ends Run after this batch (which may hold no records).
	fetchErr error
}

// prepare maps and encodes recs. It runs beside the previous batch's handling and
// touches nothing that batch uses.
func (c *Consumer) prepare(recs []kafka.Message) *batch {
	b := &batch{msgs: recs, items: make([]item, len(recs)), start: c.now()}
	subjIdx := map[string]int{}
	partSeen := map[string]bool{}
	var deadIDs []string
	for i, m := range recs {
		rec := RawRecord(m)
		outs, err := normalizeSafe(c.d.Normalize, rec)
		it := item{msg: m, provider: rec.Provider, err: err}
		it.outs, it.dead = splitDead(outs)
		part := m.Topic + ":" + strconv.Itoa(m.Partition)
		if !partSeen[part] {
			partSeen[part] = true
			b.parts = append(b.parts, part)
		}
		if err == nil {
			// Encode first: an event that cannot be encoded (e.g. a time past year
			// 9999) makes its whole record permanent, so it is dead-lettered instead of
			// retrying the batch forever.
			encs := make([]encodedEvent, len(it.outs))
			size := 0
			for j := range it.outs {
				enc, encErr := encodeEvent(&it.outs[j].Event)
				if encErr != nil {
					it.err = adapter.Permanent(ReasonEncodeFailed, "encoding canonical event: %v", encErr)
					break
				}
				if n := recordSize(&it.outs[j].Event, enc); n > c.cfg.MaxEventBytes {
					it.err = adapter.Permanent(ReasonEventTooLarge, "canonical event of %d bytes exceeds the %d-byte limit", n, c.cfg.MaxEventBytes)
					break
				}
				encs[j] = enc
				size += len(enc.json)
			}
			if it.err != nil {
				it.outs, it.dead = nil, nil
			} else {
				it.enc = encs
				b.size += size
				for j := range it.outs {
					o := &it.outs[j]
					b.ids = append(b.ids, o.Event.ID)
					si, ok := subjIdx[o.Event.Subject]
					if !ok {
						si = len(b.subjects)
						subjIdx[o.Event.Subject] = si
						b.subjects = append(b.subjects, o.Event.Subject)
					}
					b.subj = append(b.subj, si)
					if o.Repeatable {
						b.repeatable++
					}
				}
				for _, d := range it.dead {
					deadIDs = append(deadIDs, deadPartID(rec, d))
				}
			}
		} else {
			it.outs, it.dead = nil, nil
		}
		b.items[i] = it
	}
	b.events = len(b.ids)
	b.ids = append(b.ids, deadIDs...)
	return b
}

// recordSize is an upper bound of the canonical record's size for ev: value
// (advances spliced in), key, and headers with their names.
func recordSize(ev *shipment.Event, enc encodedEvent) int {
	return len(enc.json) + len("false") + len(ev.Subject) +
		len(ev.ID) + len(ev.Type) + len(ev.Source) + len(ev.Data.Provider) + len(ev.Data.Status) + 512
}

// repeatableIDs returns the unqualified ids of b's repeatable events, in raw order.
func (b *batch) repeatableIDs() []string {
	ids := make([]string, 0, b.repeatable)
	n := 0
	for _, it := range b.items {
		if it.err != nil {
			continue
		}
		for j := range it.outs {
			if it.outs[j].Repeatable {
				ids = append(ids, b.ids[n])
			}
			n++
		}
	}
	return ids
}
