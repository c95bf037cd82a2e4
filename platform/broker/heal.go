package broker

import (
	"context"

	"github.com/segmentio/kafka-go"
)

// ResetConnections drops every pooled connection of w's transport, so the next
// write dials afresh.
//
// Why: after a broker restart kafka-go's transport can keep handing out pooled
// connections to the old broker process, and every write on them fails ("write
// tcp ...: broken pipe", "unexpected EOF"). A writer with kafka-go's own retries
// off (MaxAttempts 1, as the normalizer uses) then never heals: seen in the chaos
// suite, where the normalizer failed every batch for a minute after the broker
// was back, until it was restarted.
//
// Every Kafka producer here heals through ResetTransport: HealingWriter after a
// failed write, Producer after a round with a retriable error.
func ResetConnections(w *kafka.Writer) { ResetTransport(w.Transport) }

// ResetTransport drops every pooled connection of rt when it is a
// *kafka.Transport (the transport NewWriter and NewProducer build); other
// round trippers (test fakes) are left alone.
func ResetTransport(rt kafka.RoundTripper) {
	if t, ok := rt.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
}

// HealingWriter is a *kafka.Writer that resets its connections after a failed
// write (see ResetConnections). The error is returned unchanged; the caller still
// decides whether to retry.
type HealingWriter struct {
	*kafka.Writer
}

// WriteMessages writes msgs and, when that fails for a reason other than ctx
// ending, drops the writer's pooled connections before returning the error.
func (h HealingWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	err := h.Writer.WriteMessages(ctx, msgs...)
	if err != nil && ctx.Err() == nil {
		ResetConnections(h.Writer)
	}
	return err
}
