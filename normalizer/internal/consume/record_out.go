package consume

// Records out: the canonical record of an event and the dead letter of a raw
// record, and the dead-letter reasons the consumer itself gives.

import (
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas"
)

// ReasonAdapterPanic is the dead-letter reason when an adapter panicked on a record.
const ReasonAdapterPanic = "adapter_panic"

// ReasonEncodeFailed is the dead-letter reason when an adapter's event cannot be
// encoded as JSON (a value JSON cannot carry, such as a time past year 9999).
const ReasonEncodeFailed = "encode_failed"

// ReasonEventTooLarge is the dead-letter reason when one of a record's canonical
// events exceeds Config.MaxEventBytes (e.g. a huge field whose JSON escaping
// grows it past the broker's limit).
const ReasonEventTooLarge = "event_too_large"

// canonicalHeaders is the number of headers on a canonical record.
const canonicalHeaders = 8

var (
	contentTypeValue = []byte(schemas.ContentTypeCloudEvents)
	trueValue        = []byte("true")
	falseValue       = []byte("false")
)

// canonicalMessage builds the canonical record for ev (encoded as enc, with
// ev.Event.Data.Advances decided), keyed by its subject, with the header contract
// of schemas.HeaderEventID and the rest. Values and headers are appended to arena
// and hdrs (one allocation per attempt instead of nine per event); the grown
// slices are returned.
func canonicalMessage(topic string, ev *adapter.Output, enc encodedEvent, raw kafka.Message,
	arena []byte, hdrs []kafka.Header) (kafka.Message, []byte, []kafka.Header) {
	put := func(parts ...string) []byte {
		start := len(arena)
		for _, p := range parts {
			arena = append(arena, p...)
		}
		return arena[start:len(arena):len(arena)]
	}
	adv := falseValue
	if ev.Event.Data.Advances {
		adv = trueValue
	}
	start := len(arena)
	arena = append(arena, enc.json[:enc.split]...)
	arena = append(arena, adv...)
	arena = append(arena, enc.json[enc.split:]...)
	value := arena[start:len(arena):len(arena)]
	key := put(ev.Event.Subject)
	h0 := len(hdrs)
	hdrs = append(hdrs,
		kafka.Header{Key: schemas.HeaderEventID, Value: put(ev.Event.ID)},
		kafka.Header{Key: schemas.HeaderEventType, Value: put(ev.Event.Type)},
		kafka.Header{Key: schemas.HeaderEventSource, Value: put(ev.Event.Source)},
		kafka.Header{Key: schemas.HeaderEventContentType, Value: contentTypeValue},
		kafka.Header{Key: schemas.HeaderProvider, Value: put(ev.Event.Data.Provider)},
		kafka.Header{Key: schemas.HeaderStatus, Value: put(string(ev.Event.Data.Status))},
		kafka.Header{Key: schemas.HeaderAdvances, Value: adv},
		kafka.Header{Key: schemas.HeaderRawSource, Value: put(raw.Topic, "/", strconv.Itoa(raw.Partition), "/", strconv.FormatInt(raw.Offset, 10))},
	)
	return kafka.Message{
		Topic:   topic,
		Key:     key,
		Value:   value,
		Headers: hdrs[h0:len(hdrs):len(hdrs)],
	}, arena, hdrs
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
