package broker

import (
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"
)

// RecordError is a record-level error of a produce response (KIP-467): the
// broker refused one record of the batch, not the request.
type RecordError struct {
	// Index is the record's position in the partition's batch.
	Index int32
	// Message is the broker's explanation.
	Message string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("record %d rejected: %s", e.Index, e.Message)
}

// RecordRejected reports whether err means Kafka refuses the records themselves
// for good (too large, invalid, corrupt, or a record-level error), so sending
// the same bytes again can never succeed. Errors about the broker, the topic,
// authorization or time (broker down, unknown topic, timeouts) are not: they
// may pass, and the caller keeps retrying them.
func RecordRejected(err error) bool {
	var rerr *RecordError
	if errors.As(err, &rerr) {
		return true
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		switch kerr {
		case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge, kafka.InvalidRecord, kafka.InvalidMessage:
			return true
		}
	}
	return false
}
