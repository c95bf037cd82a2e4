package consume

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
)

// Headers on canonical records. They repeat envelope fields so routers (the
// dispatcher) and the in-flight recovery scan need not decode the value; names
// follow the CloudEvents Kafka binding's "ce_" prefix.
const (
	HeaderEventID     = "ce_id"
	HeaderEventType   = "ce_type"
	HeaderEventSource = "ce_source"
	HeaderStatus      = "status"
	HeaderAdvances    = "advances"
	// HeaderRawSource is "topic/partition/offset" of the raw record the event came from.
	HeaderRawSource = "raw_source"
	// HeaderContentType marks the value as a structured-mode CloudEvent.
	HeaderContentType = "content-type"
	// ContentTypeCloudEvents is the HeaderContentType value.
	ContentTypeCloudEvents = "application/cloudevents+json; charset=UTF-8"
)

// ReasonAdapterPanic is the dead-letter reason when an adapter panicked on a record.
const ReasonAdapterPanic = "adapter_panic"

// item is one fetched raw record and what the adapter made of it.
type item struct {
	msg      kafka.Message
	provider string
	outs     []adapter.Output
	err      error // permanent: the record is dead-lettered
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

// canonicalMessage encodes ev as the canonical record keyed by its subject.
func canonicalMessage(topic string, ev *adapter.Output, raw kafka.Message) (kafka.Message, error) {
	b, err := json.Marshal(&ev.Event)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("encoding canonical event: %w", err)
	}
	return kafka.Message{
		Topic: topic,
		Key:   []byte(ev.Event.Subject),
		Value: b,
		Headers: []kafka.Header{
			{Key: HeaderEventID, Value: []byte(ev.Event.ID)},
			{Key: HeaderEventType, Value: []byte(ev.Event.Type)},
			{Key: HeaderEventSource, Value: []byte(ev.Event.Source)},
			{Key: HeaderContentType, Value: []byte(ContentTypeCloudEvents)},
			{Key: schemas.HeaderProvider, Value: []byte(ev.Event.Data.Provider)},
			{Key: HeaderStatus, Value: []byte(ev.Event.Data.Status)},
			{Key: HeaderAdvances, Value: []byte(strconv.FormatBool(ev.Event.Data.Advances))},
			{Key: HeaderRawSource, Value: []byte(source(raw))},
		},
	}, nil
}

// deadLetter copies the raw record (key, value, headers byte-exact) to the DLQ
// topic and appends the dlq_* headers.
func deadLetter(topic, service string, m kafka.Message, err error, now time.Time) kafka.Message {
	h := make([]kafka.Header, 0, len(m.Headers)+5)
	h = append(h, m.Headers...)
	h = append(h,
		kafka.Header{Key: schemas.HeaderDLQReason, Value: []byte(adapter.ReasonOf(err))},
		kafka.Header{Key: schemas.HeaderDLQError, Value: []byte(truncate(err.Error(), 1024))},
		kafka.Header{Key: schemas.HeaderDLQSource, Value: []byte(source(m))},
		kafka.Header{Key: schemas.HeaderDLQAt, Value: []byte(now.UTC().Format(time.RFC3339Nano))},
		kafka.Header{Key: schemas.HeaderDLQService, Value: []byte(service)},
	)
	return kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: h}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
