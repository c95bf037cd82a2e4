package broker

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"
)

// Fetcher is the fetching half of a consumer-group *kafka.Reader.
type Fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
}

// FetchRetrying returns the next message from r, riding out broker outages.
//
// A consumer-group reader's FetchMessage returns an error when a round of joining
// the group failed (broker unreachable, coordinator moving), yet the reader keeps
// retrying in the background; a service that stopped on that error would turn a
// 30-second broker restart into an outage of its own. So errors are transient
// here: onRetry (may be nil) is told about each one (attempt counts from 1 within
// a streak), and FetchRetrying waits between attempts, doubling from minDelay up to
// maxDelay, each wait jittered by ±50 % (cenkalti/backoff/v5) so that many
// consumers do not retry in step. It returns ctx's error when ctx ends, and io.EOF
// once r is closed.
func FetchRetrying(ctx context.Context, r Fetcher, minDelay, maxDelay time.Duration, onRetry func(err error, attempt int)) (kafka.Message, error) {
	bo := &backoff.ExponentialBackOff{
		InitialInterval: minDelay, MaxInterval: maxDelay, Multiplier: 2,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
	}
	for attempt := 1; ; attempt++ {
		m, err := r.FetchMessage(ctx)
		if err == nil {
			return m, nil
		}
		if ctx.Err() != nil {
			return kafka.Message{}, ctx.Err()
		}
		if errors.Is(err, io.EOF) {
			return kafka.Message{}, err
		}
		if onRetry != nil {
			onRetry(err, attempt)
		}
		t := time.NewTimer(bo.NextBackOff())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return kafka.Message{}, ctx.Err()
		}
	}
}
