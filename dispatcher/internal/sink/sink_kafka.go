package sink

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/schemas"
)

// HeaderIdempotencyID is the record header carrying the idempotency id downstream
// consumers dedup on. Downstream records also carry the canonical topic's header
// contract (schemas.HeaderEvent*, HeaderProvider, HeaderStatus, HeaderAdvances), so
// a consumer of a downstream topic reads them exactly as on the canonical topic.
const HeaderIdempotencyID = "idempotency_id"

// Writer is the part of *kafka.Writer the Kafka sink uses.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Kafka produces canonical events to a downstream topic with the canonical
// key, so one shipment's events keep their order within the topic's partition.
type Kafka struct {
	w      Writer
	topic  string
	redact *Redactor
}

// NewKafka returns a sink that writes to topic through w (a writer built with
// platform/broker.NewWriter and an empty Topic, or with this topic).
func NewKafka(w Writer, topic string, redact []string) (*Kafka, error) {
	if w == nil || topic == "" {
		return nil, errors.New("kafka sink: needs a writer and a topic")
	}
	return &Kafka{w: w, topic: topic, redact: NewRedactor(redact)}, nil
}

// Deliver writes one record and returns once the brokers acknowledged it (acks=all).
func (k *Kafka) Deliver(ctx context.Context, d Delivery) error {
	body, err := k.redact.Apply(d.Body)
	if err != nil {
		return err
	}
	msg := kafka.Message{
		Topic:   k.topic,
		Key:     d.Key,
		Value:   body,
		Headers: canonicalHeaders(d),
	}
	if err := k.w.WriteMessages(ctx, msg); err != nil {
		var ke kafka.Error
		if errors.As(err, &ke) && !ke.Temporary() && ke != kafka.UnknownTopicOrPartition && ke != kafka.LeaderNotAvailable {
			return Permanent(fmt.Errorf("writing to %s: %w", k.topic, err))
		}
		return fmt.Errorf("writing to %s: %w", k.topic, err)
	}
	return nil
}

// canonicalHeaders rebuilds the canonical record headers from the decoded event
// (the canonical topic's contract in schemas/topics.go) plus the idempotency id.
func canonicalHeaders(d Delivery) []kafka.Header {
	h := make([]kafka.Header, 0, 8)
	h = append(h,
		kafka.Header{Key: HeaderIdempotencyID, Value: []byte(d.ID)},
		kafka.Header{Key: schemas.HeaderEventContentType, Value: []byte(schemas.ContentTypeCloudEvents)},
	)
	if ev := d.Event; ev != nil {
		h = append(h,
			kafka.Header{Key: schemas.HeaderEventID, Value: []byte(ev.ID)},
			kafka.Header{Key: schemas.HeaderEventType, Value: []byte(ev.Type)},
			kafka.Header{Key: schemas.HeaderEventSource, Value: []byte(ev.Source)},
			kafka.Header{Key: schemas.HeaderProvider, Value: []byte(ev.Data.Provider)},
			kafka.Header{Key: schemas.HeaderStatus, Value: []byte(ev.Data.Status)},
			kafka.Header{Key: schemas.HeaderAdvances, Value: []byte(strconv.FormatBool(ev.Data.Advances))},
		)
	}
	return h
}
