package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// ProbeTopic is the topic Probe writes to and reads from.
const ProbeTopic = "__courierhook_probe"

// Probe proves the broker can do what the services need: create a topic, accept an
// acks=all write, and serve a consumer group that commits. The port opening is not
// enough: on a fresh broker the first group join creates __consumer_offsets and
// takes seconds. Probe retries until ctx ends.
func Probe(ctx context.Context, cfg Config) error {
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("kafka at %v not usable: %w (last error: %v)", cfg.Brokers, ctx.Err(), last)
			case <-time.After(500 * time.Millisecond):
			}
		}
		if last = probeOnce(ctx, cfg); last == nil {
			return nil
		}
	}
}

func probeOnce(ctx context.Context, cfg Config) error {
	octx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := EnsureTopics(octx, cfg.Brokers, TopicSpec{Name: ProbeTopic, Partitions: 1}); err != nil {
		return err
	}
	w := NewWriter(cfg, ProbeTopic, nil, WriterOptions{MaxAttempts: 1})
	defer w.Close()
	marker := []byte(time.Now().Format(time.RFC3339Nano))
	if err := w.WriteMessages(octx, kafka.Message{Value: marker}); err != nil {
		return fmt.Errorf("writing probe record: %w", err)
	}
	r := NewReader(cfg, "courierhook-probe", []string{ProbeTopic}, nil, ReaderOptions{})
	defer r.Close()
	for {
		m, err := r.FetchMessage(octx)
		if err != nil {
			return fmt.Errorf("reading probe record: %w", err)
		}
		if err := r.CommitMessages(octx, m); err != nil {
			return fmt.Errorf("committing probe offset: %w", err)
		}
		if string(m.Value) == string(marker) {
			return nil
		}
	}
}
