package app

import (
	"context"
	"errors"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/platform/broker"
)

// EventWriter is the consumer's producer. The canonical records of a batch go
// through a broker.Producer: one produce request per leader broker for all the
// partitions the batch touches (kafka.Writer sends one request per partition,
// so a batch spread over 6 partitions cost the broker 6 requests). The rare
// dead letters go through a kafka.Writer, since the Producer serves one topic.
//
// Neither retries a write by itself (MaxAttempts 1): a retry of a write whose
// first try landed would duplicate events; the consumer retries the whole
// batch instead, after recovering what landed (package inflight). Each call is
// bounded by the write timeout.
type EventWriter struct {
	canonicalTopic string
	canonical      *broker.Producer
	other          *kafka.Writer
	timeout        time.Duration
}

// NewEventWriter returns the writer for canonical records to canonicalTopic
// (snappy, as every canonical record is written) and dead letters to any
// other topic named by the message. Close flushes and closes both.
func NewEventWriter(cfg broker.Config, canonicalTopic string, timeout time.Duration, log *zap.Logger) *EventWriter {
	return &EventWriter{
		canonicalTopic: canonicalTopic,
		canonical: broker.NewProducer(cfg, canonicalTopic, broker.ProducerOptions{
			Compression: kafka.Snappy, WriteTimeout: timeout, MaxAttempts: 1}),
		// NoLinger: each batch is one call from one goroutine, so waiting for
		// more records could only delay it.
		other:   broker.NewWriter(cfg, "", log, broker.WriterOptions{WriteTimeout: timeout, MaxAttempts: 1, NoLinger: true}),
		timeout: timeout,
	}
}

// WriteMessages writes msgs (each naming its topic) and returns once all of
// them were acknowledged, or the first error.
func (w *EventWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	split := 0 // msgs[:split] are canonical
	for split < len(msgs) && msgs[split].Topic == w.canonicalTopic {
		split++
	}
	if split == len(msgs) {
		return w.canonical.WriteMessages(ctx, msgs...)
	}
	canonical := append([]kafka.Message(nil), msgs[:split]...)
	var other []kafka.Message
	for _, m := range msgs[split:] {
		if m.Topic == w.canonicalTopic {
			canonical = append(canonical, m)
		} else {
			other = append(other, m)
		}
	}
	otherErr := make(chan error, 1)
	go func() { otherErr <- broker.HealingWriter{Writer: w.other}.WriteMessages(ctx, other...) }()
	var err error
	if len(canonical) > 0 {
		err = w.canonical.WriteMessages(ctx, canonical...)
	}
	return errors.Join(err, <-otherErr)
}

// Close sends what is queued and closes both writers.
func (w *EventWriter) Close() error {
	return errors.Join(w.canonical.Close(), w.other.Close())
}
