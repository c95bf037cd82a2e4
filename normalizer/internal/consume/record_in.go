package consume

// Raw records in: what the consumer reads from a raw record and what the
// adapter made of it.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// item is one fetched raw record and what the adapter made of it.
type item struct {
	msg      kafka.Message
	provider string
	outs     []adapter.Output // the events (outputs without Dead)
	enc      []encodedEvent   // outs encoded, data.advances left open
	// dead are the parts of the body the adapter could not map (Output.Dead):
	// each dead-letters the raw record once, beside the events of the others.
	dead []*adapter.Error
	err  error // permanent: the whole record is dead-lettered
}

// splitDead separates the events of a body from its dead parts.
func splitDead(outs []adapter.Output) ([]adapter.Output, []*adapter.Error) {
	var dead []*adapter.Error
	for _, o := range outs {
		if o.Dead != nil {
			dead = append(dead, o.Dead)
		}
	}
	if len(dead) == 0 {
		return outs, nil
	}
	good := make([]adapter.Output, 0, len(outs)-len(dead))
	for _, o := range outs {
		if o.Dead == nil {
			good = append(good, o)
		}
	}
	return good, dead
}

// deadPartID identifies the dead letter of one bad part of a body: the same
// bytes from the same provider with the same failure give the same id, which is
// marked like an event id, so a re-delivered body does not dead-letter its bad
// part again while the mark lives.
func deadPartID(rec adapter.RawRecord, dead *adapter.Error) string {
	sum := sha256.Sum256(rec.Body)
	return shipment.EventID("dead|" + rec.Provider + "|" + hex.EncodeToString(sum[:]) + "|" + dead.Error())
}

// source renders "topic/partition/offset".
func source(m kafka.Message) string {
	return m.Topic + "/" + strconv.Itoa(m.Partition) + "/" + strconv.FormatInt(m.Offset, 10)
}

// RawRecord decodes a raw record's headers into the adapter's input. A missing or
// unparsable received_at falls back to the Kafka record timestamp (the gateway
// writes both at the same moment), so a header glitch does not dead-letter a
// webhook that maps fine.
func RawRecord(m kafka.Message) adapter.RawRecord {
	rec := adapter.RawRecord{
		Provider:  string(broker.Header(m, schemas.HeaderProvider)),
		Body:      m.Value,
		RequestID: string(broker.Header(m, schemas.HeaderRequestID)),
		Topic:     m.Topic,
		Partition: m.Partition,
		Offset:    m.Offset,
	}
	if v := broker.Header(m, schemas.HeaderReceivedAt); v != nil {
		if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
			rec.ReceivedAt = t.UTC()
		}
	}
	if rec.ReceivedAt.IsZero() {
		rec.ReceivedAt = m.Time.UTC()
	}
	return rec
}

// normalizeSafe runs fn and turns a panic into a permanent error.
func normalizeSafe(fn NormalizeFunc, rec adapter.RawRecord) (outs []adapter.Output, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, &adapter.Error{Reason: ReasonAdapterPanic, Err: fmt.Errorf("adapter panicked: %v", r)}
		}
	}()
	if rec.Provider == "" {
		return nil, &adapter.Error{Reason: adapter.ReasonUnknownProvider, Err: adapter.ErrUnknownProvider}
	}
	return fn(rec)
}
