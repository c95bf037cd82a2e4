package adapter

import (
	"errors"
	"fmt"
	"time"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// RawRecord is one record from the raw topic, as the adapters see it.
type RawRecord struct {
	// Provider is the gateway route name (record header "provider").
	Provider string
	// Body is the webhook body, byte-exact.
	Body []byte
	// ReceivedAt is the gateway's receive time (record header "received_at").
	ReceivedAt time.Time
	// RequestID is the gateway's request id (record header "request_id").
	RequestID string
	// Topic, Partition and Offset locate the raw record; they go into Data.Raw.
	Topic     string
	Partition int
	Offset    int64
}

// Output is one canonical event plus the key the normalizer deduplicates it on.
type Output struct {
	Event shipment.Event
	// DedupKey identifies the provider event: the same webhook delivered twice gives
	// the same key. Event.ID is shipment.EventID(DedupKey).
	DedupKey string
	// Repeatable is true when DedupKey holds no provider time, sequence or event id,
	// so a real repeat of the same status (Komerce "Dikirim" after "Gagal Kirim")
	// has the same bytes as an exact re-delivery. The consumer then qualifies the
	// key with the shipment's status-change count (its "epoch"): a re-delivery while
	// no other status arrived keeps the key; a repeat after another status gets a
	// new one. The adapter leaves Event.ID as shipment.EventID(DedupKey); the
	// consumer re-derives it when it qualifies the key.
	Repeatable bool
	// Dropped names the non-essential fields that had an unexpected JSON type and
	// were left out of the event, as JSON paths with "[]" for array elements
	// ("payment", "data[].driver", "packages[].origin"); the consumer counts them
	// in normalizer_fields_dropped_total{provider,field}. A field of the body as
	// a whole (KiriminAja "payment") is listed on the body's first output only,
	// a field of one order on that order's output, so each drop counts once.
	Dropped []string
	// Dead, when set, means this part of the body (one order of a multi-order
	// body) cannot be mapped: Event is empty and the consumer dead-letters the raw
	// record with Dead.Reason (which names the order, e.g. "order[2]") while the
	// other outputs of the same body are emitted.
	Dead *Error
}

// Adapter maps one raw record of its provider to canonical events.
// Normalize must not panic on any input and must return an *Error for input it
// cannot map at all; it never returns both outputs and an error. A body that maps
// only in part returns its good outputs plus one Output with Dead set per bad part.
type Adapter interface {
	Normalize(rec RawRecord) ([]Output, error)
}

// Reason codes carried by Error and used as the dead-letter reason header.
const (
	ReasonUnknownProvider   = "unknown_provider"
	ReasonInvalidJSON       = "invalid_json"
	ReasonUnsupportedShape  = "unsupported_payload"
	ReasonMissingShipmentID = "missing_shipment_id"
	ReasonNoShipment        = "not_a_shipment_event"
	ReasonInvalidValue      = "invalid_value"
	ReasonShipmentIDTooLong = "shipment_id_too_long"
)

// MaxShipmentIDBytes bounds a shipment id (after invalid UTF-8 is replaced by
// U+FFFD). The id becomes the Kafka record key and the event subject; a longer
// id (a 150 KB deliveryID was seen) dead-letters with shipment_id_too_long.
const MaxShipmentIDBytes = 256

// Error is a permanent mapping failure: retrying the same bytes cannot succeed, so
// the record belongs in the dead-letter topic with Reason.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownProvider is wrapped when no adapter is registered for a provider.
var ErrUnknownProvider = errors.New("no adapter for provider")

// Permanent builds an *Error.
func Permanent(reason string, format string, args ...any) *Error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ReasonOf returns the reason code of err, or "internal" when err is not an *Error.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return "internal"
}
