package retry

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/schemas"
)

// DLQ reason codes (schemas.HeaderDLQReason).
const (
	// ReasonExhausted: every retry tier failed.
	ReasonExhausted = "retries_exhausted"
	// ReasonPermanent: the sink answered with an error no retry can fix (a 4xx).
	ReasonPermanent = "permanent_failure"
	// ReasonUnknownSink: a retry record names a sink the routes file no longer has.
	ReasonUnknownSink = "unknown_sink"
	// ReasonInvalidEvent: the canonical record is not a decodable event.
	ReasonInvalidEvent = "invalid_event"
)

// Writer is the part of *kafka.Writer the Publisher uses.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Publisher hands failed deliveries to the next retry tier or the DLQ. Its
// writes are synchronous and acks=all: when Handoff returns nil the delivery is
// durable and the caller may count it as done.
type Publisher struct {
	w     Writer
	tiers *Tiers
	dlq   string
	now   func() time.Time
}

// NewPublisher returns a publisher writing through w (a writer without a fixed
// topic), to tiers' topics and to the dlq topic.
func NewPublisher(w Writer, tiers *Tiers, dlq string) *Publisher {
	return &Publisher{w: w, tiers: tiers, dlq: dlq, now: time.Now}
}

// Tiers returns the publisher's tiers.
func (p *Publisher) Tiers() *Tiers { return p.tiers }

// Result says where Handoff put a delivery.
type Result struct {
	// Tier is the tier index written to, or -1 for the DLQ.
	Tier int
	// Reason is the DLQ reason when Tier is -1.
	Reason string
}

// Handoff writes the failed delivery to tier `next`, or to the DLQ with reason
// ReasonExhausted when next is past the last tier. key and value are the
// canonical record's; m describes the failure (Attempt already counts it).
func (p *Publisher) Handoff(ctx context.Context, key, value []byte, m Meta, next int) (Result, error) {
	now := p.now()
	if m.FirstFailure.IsZero() {
		m.FirstFailure = now
	}
	if next >= p.tiers.Len() {
		return Result{Tier: -1, Reason: ReasonExhausted}, p.DeadLetter(ctx, key, value, m, ReasonExhausted)
	}
	m.Tier = next
	m.NotBefore = now.Add(p.tiers.Jittered(next))
	msg := kafka.Message{Topic: p.tiers.Topic(next), Key: key, Value: value, Headers: m.Headers()}
	return Result{Tier: next}, p.w.WriteMessages(ctx, msg)
}

// DeadLetter writes the delivery to the DLQ with a reason code.
func (p *Publisher) DeadLetter(ctx context.Context, key, value []byte, m Meta, reason string) error {
	now := p.now()
	if m.FirstFailure.IsZero() {
		m.FirstFailure = now
	}
	m.NotBefore = time.Time{}
	h := append(m.Headers(),
		kafka.Header{Key: schemas.HeaderDLQReason, Value: []byte(reason)},
		kafka.Header{Key: schemas.HeaderDLQError, Value: []byte(truncate(m.LastError, 512))},
		kafka.Header{Key: schemas.HeaderDLQSource, Value: []byte(m.Source)},
		kafka.Header{Key: schemas.HeaderDLQAt, Value: []byte(now.UTC().Format(time.RFC3339Nano))},
		kafka.Header{Key: schemas.HeaderDLQService, Value: []byte("dispatcher")},
	)
	return p.w.WriteMessages(ctx, kafka.Message{Topic: p.dlq, Key: key, Value: value, Headers: h})
}
