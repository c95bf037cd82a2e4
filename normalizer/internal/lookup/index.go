package lookup

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// HeaderRedrivenFrom is set by `normalizer redrive` on a raw record it produced
// again: "topic/partition/offset" of the dead letter it came from.
const HeaderRedrivenFrom = "redriven_from"

// DefaultRecent is how many recent events a shipment's list keeps.
const DefaultRecent = 50

// Event is one canonical event as the index keeps it and the API shows it.
type Event struct {
	ID             string    `json:"id"`
	Subject        string    `json:"subject"`
	Status         string    `json:"status"`
	SubStatus      string    `json:"sub_status,omitempty"`
	ProviderStatus string    `json:"provider_status,omitempty"`
	Terminal       bool      `json:"terminal"`
	Advances       bool      `json:"advances"`
	Time           time.Time `json:"time"`
	RequestID      string    `json:"request_id,omitempty"`
	// Corrects is the id of the event this one replaces (renormalize).
	Corrects string `json:"corrects,omitempty"`
}

// EventOf is the index entry of ev (emitted for the raw record with request id req).
func EventOf(ev *shipment.Event) Event {
	return Event{
		ID: ev.ID, Subject: ev.Subject, Status: string(ev.Data.Status), SubStatus: ev.Data.SubStatus,
		ProviderStatus: ev.Data.ProviderStatus, Terminal: ev.Data.Terminal, Advances: ev.Data.Advances,
		Time: ev.Time.UTC(), RequestID: ev.Data.Raw.RequestID, Corrects: ev.Data.Corrects,
	}
}

// Location is where a raw record is.
type Location struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
}

// String renders "topic/partition/offset".
func (l Location) String() string {
	return l.Topic + "/" + strconv.Itoa(l.Partition) + "/" + strconv.FormatInt(l.Offset, 10)
}

// Meta is what the index keeps about a raw record itself.
type Meta struct {
	RequestID  string    `json:"request_id"`
	Provider   string    `json:"provider"`
	Raw        Location  `json:"raw"`
	ReceivedAt time.Time `json:"received_at"`
	// Auth is the authentication variant the gateway matched (never a secret).
	Auth         string `json:"auth,omitempty"`
	RedrivenFrom string `json:"redriven_from,omitempty"`
}

// MetaOf reads a raw record's location and headers.
func MetaOf(m kafka.Message) Meta {
	meta := Meta{
		RequestID:    string(broker.Header(m, schemas.HeaderRequestID)),
		Provider:     string(broker.Header(m, schemas.HeaderProvider)),
		Raw:          Location{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset},
		Auth:         string(broker.Header(m, schemas.HeaderAuth)),
		RedrivenFrom: string(broker.Header(m, HeaderRedrivenFrom)),
	}
	if t, err := time.Parse(time.RFC3339Nano, string(broker.Header(m, schemas.HeaderReceivedAt))); err == nil {
		meta.ReceivedAt = t.UTC()
	} else {
		meta.ReceivedAt = m.Time.UTC()
	}
	return meta
}

// DeadLetter is a raw record's last dead-letter reason.
type DeadLetter struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Index writes the lookup index. A nil *Index writes nothing (Batch returns nil).
type Index struct {
	prefix string
	ttl    time.Duration
	recent int
}

// NewIndex returns an index under prefix whose keys live ttl after their last
// write (use the state TTL) and whose shipment lists keep the recent newest events
// (DefaultRecent when <= 0).
func NewIndex(prefix string, ttl time.Duration, recent int) *Index {
	if recent <= 0 {
		recent = DefaultRecent
	}
	return &Index{prefix: prefix, ttl: ttl, recent: recent}
}

func webhookKey(prefix, requestID string) string { return prefix + "lw:" + requestID }
func shipmentKey(prefix, subject string) string  { return prefix + "ls:" + subject }

// Batch collects the index writes of one consumer batch. Its methods are not safe
// for concurrent use; on a nil *Batch they do nothing.
type Batch struct {
	x     *Index
	order []string
	recs  map[string]*pending
	ships map[string][]string // subject -> event JSON, oldest first
	sOrd  []string
}

type pending struct {
	meta   Meta
	fields []any
}

// Batch starts a batch of index writes.
func (x *Index) Batch() *Batch {
	if x == nil {
		return nil
	}
	return &Batch{x: x, recs: map[string]*pending{}, ships: map[string][]string{}}
}

func (b *Batch) rec(m kafka.Message) *pending {
	meta := MetaOf(m)
	if meta.RequestID == "" {
		return nil
	}
	p, ok := b.recs[meta.RequestID]
	if !ok {
		p = &pending{}
		b.recs[meta.RequestID] = p
		b.order = append(b.order, meta.RequestID)
	}
	p.meta = meta
	return p
}

// Event records that raw produced ev (call it only for events actually produced,
// with data.advances decided, not for duplicates dropped by dedup).
func (b *Batch) Event(raw kafka.Message, ev *shipment.Event) {
	if b == nil {
		return
	}
	e := EventOf(ev)
	j, _ := json.Marshal(e) // plain strings, bools and a time: cannot fail
	if p := b.rec(raw); p != nil {
		p.fields = append(p.fields, "e:"+e.ID, j)
	}
	if _, ok := b.ships[e.Subject]; !ok {
		b.sOrd = append(b.sOrd, e.Subject)
	}
	b.ships[e.Subject] = append(b.ships[e.Subject], string(j))
}

// Duplicate records that raw repeated event id, already emitted for an earlier
// record (a re-delivery dropped by dedup), so a lookup of raw's request id
// answers with the event it repeated instead of "never seen".
func (b *Batch) Duplicate(raw kafka.Message, id string) {
	if b == nil {
		return
	}
	if p := b.rec(raw); p != nil {
		p.fields = append(p.fields, "d:"+id, "1")
	}
}

// Dead records that raw was dead-lettered with reason.
func (b *Batch) Dead(raw kafka.Message, reason string, at time.Time) {
	if b == nil {
		return
	}
	if p := b.rec(raw); p != nil {
		j, _ := json.Marshal(DeadLetter{Reason: reason, At: at.UTC()})
		p.fields = append(p.fields, "dlq", j)
	}
}

// Queue queues the batch's writes on pipe (inside the caller's MULTI, after the
// writes they describe): per raw record one HSET and one PEXPIRE, per shipment one
// LPUSH, LTRIM and PEXPIRE. They go out as untyped commands (pipe.Do), whose
// "QUEUED" answer inside MULTI is not misread as a typed reply.
func (b *Batch) Queue(ctx context.Context, pipe redis.Pipeliner) {
	if b == nil {
		return
	}
	x := b.x
	for _, id := range b.order {
		p := b.recs[id]
		meta, _ := json.Marshal(p.meta)
		k := webhookKey(x.prefix, id)
		pipe.Do(ctx, append([]any{"hset", k, "m", meta}, p.fields...)...)
		pipe.Do(ctx, "pexpire", k, x.ttl.Milliseconds())
	}
	for _, s := range b.sOrd {
		evs := b.ships[s]
		k := shipmentKey(x.prefix, s)
		args := make([]any, 0, len(evs)+2)
		args = append(args, "lpush", k)
		for _, e := range evs {
			args = append(args, e)
		}
		pipe.Do(ctx, args...)
		pipe.Do(ctx, "ltrim", k, 0, x.recent-1)
		pipe.Do(ctx, "pexpire", k, x.ttl.Milliseconds())
	}
}

// Len is the number of raw records the batch describes.
func (b *Batch) Len() int {
	if b == nil {
		return 0
	}
	return len(b.order)
}
