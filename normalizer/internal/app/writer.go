package app

import (
	"context"
	"errors"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/platform/broker"
)

// batchWriter is the consumer's producer. The canonical records of a batch go
// through a broker.Producer: one produce request per leader broker for all the
// partitions the batch touches (kafka.Writer sends one request per partition,
// so a batch spread over 6 partitions cost the broker 6 requests). The rare
// dead letters go through a kafka.Writer, since the Producer serves one topic.
// Each call is bounded by timeout.
type batchWriter struct {
	canonicalTopic string
	canonical      *broker.Producer
	other          *kafka.Writer
	timeout        time.Duration
}

func (w batchWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	split := 0 // msgs[:split] canonical, msgs[split:] the rest
	for split < len(msgs) && msgs[split].Topic == w.canonicalTopic {
		split++
	}
	if split == len(msgs) {
		return w.canonical.WriteMessages(ctx, msgs...)
	}
	var canonical, other []kafka.Message
	canonical = append(canonical, msgs[:split]...)
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
