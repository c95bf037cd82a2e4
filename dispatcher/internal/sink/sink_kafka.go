package sink

import (
	"context"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"
)

// Record headers the Kafka sink adds to each downstream record.
const (
	// HeaderIdempotencyID is the idempotency id downstream consumers dedup on.
	HeaderIdempotencyID = "idempotency_id"
	// HeaderContentType is always application/cloudevents+json.
	HeaderContentType = "content_type"
)

// Writer is the part of *kafka.Writer the Kafka sink uses.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// KafkaSink produces canonical events to a downstream topic with the canonical
// key, so one shipment's events keep their order within the topic's partition.
type KafkaSink struct {
	w      Writer
	topic  string
	redact *Redactor
}

// NewKafka returns a sink that writes to topic through w (a writer built with
// platform/broker.NewWriter and an empty Topic, or with this topic).
func NewKafka(w Writer, topic string, redact []string) (*KafkaSink, error) {
	if w == nil || topic == "" {
		return nil, errors.New("kafka sink: needs a writer and a topic")
	}
	return &KafkaSink{w: w, topic: topic, redact: NewRedactor(redact)}, nil
}

// Deliver writes one record and returns once the brokers acknowledged it (acks=all).
func (k *KafkaSink) Deliver(ctx context.Context, d Delivery) error {
	body, err := k.redact.Apply(d.Body)
	if err != nil {
		return err
	}
	msg := kafka.Message{
		Topic: k.topic,
		Key:   d.Key,
		Value: body,
		Headers: []kafka.Header{
			{Key: HeaderIdempotencyID, Value: []byte(d.ID)},
			{Key: HeaderContentType, Value: []byte("application/cloudevents+json")},
		},
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
