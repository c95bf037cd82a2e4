package sink

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// Delivery is one canonical event bound for one sink.
type Delivery struct {
	// ID is the idempotency id, stable across retries and replays (IdempotencyID).
	ID string
	// Key is the canonical record key "{provider}:{shipment id}".
	Key []byte
	// Body is the canonical event JSON exactly as read from the canonical topic.
	Body []byte
	// Event is Body decoded; chat templates render it.
	Event *shipment.Event
	// Attempt counts delivery attempts, starting at 1.
	Attempt int
	// EventTime is the canonical record's timestamp, for latency metrics.
	EventTime time.Time
}

// IdempotencyID derives the id receivers dedup on: the same event to the same sink
// always gets the same id, whichever attempt, retry tier or replay sends it.
func IdempotencyID(eventID, sinkName string) string {
	sum := sha256.Sum256([]byte(eventID + "\x00" + sinkName))
	return "msg_" + hex.EncodeToString(sum[:16])
}

// PermanentError marks a failure that no retry can fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so IsPermanent reports true. Nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or anything it wraps) was marked Permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// StatusError is an HTTP answer outside 2xx.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string { return fmt.Sprintf("http status %d", e.Code) }

// classifyStatus returns nil for 2xx, a retryable error for 408, 429 and 5xx, and a
// permanent error for every other status (a 4xx will not change on retry; 3xx is
// not followed because a redirected POST would lose its body or its signature).
func classifyStatus(code int) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == 408 || code == 429 || code >= 500:
		return &StatusError{Code: code}
	default:
		return Permanent(&StatusError{Code: code})
	}
}
