package broker

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// StatsReader is the part of *kafka.Reader that ExportLag reads.
type StatsReader interface {
	Stats() kafka.ReaderStats
}

// ExportLag sets g to r.Stats().Lag now and then every interval until ctx ends.
// It blocks; run it in its own goroutine.
//
// What the number means, and where it misleads:
//   - kafka-go computes it per record read, as the fetch's high watermark minus
//     the next offset. With a consumer group the partitions share one value, so it
//     is the lag of whichever partition delivered last, not the group's sum.
//   - It moves only while the reader reads. A consumer that stops fetching (its
//     prefetch queue full) shows the lag it had when it stopped, flat, however
//     far the topic runs ahead; pair a "lag growing" alert with a fetch-rate check.
//   - It is the reader's position, not the committed offset: records fetched but
//     not yet committed do not count.
//   - Stats also resets the reader's counters (fetches, messages, errors...); a
//     second caller of Stats sees only what happened since the last call.
func ExportLag(ctx context.Context, r StatsReader, g prometheus.Gauge, interval time.Duration) {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		g.Set(float64(r.Stats().Lag))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
