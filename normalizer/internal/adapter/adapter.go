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
}

// Adapter maps one raw record of its provider to canonical events.
// Normalize must not panic on any input and must return an *Error for input it
// cannot map; it never returns both outputs and an error.
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
)

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
