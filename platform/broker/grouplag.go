package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// GroupLag returns, for each topic, how many records the consumer group has not
// committed yet: the sum over the topic's partitions of the end offset minus the
// group's committed offset (a partition without a commit counts from its first
// retained offset, as a group starting at the earliest offset would read it).
//
// This is the lag an autoscaler (KEDA) and an operator mean. kafka-go's
// Reader.Stats().Lag is not: it is the fetch position of whichever partition the
// reader read last, and it stops moving when the reader stops reading.
func GroupLag(ctx context.Context, cfg Config, group string, topics []string) (map[string]int64, error) {
	c := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second}
	meta, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("reading metadata: %w", err)
	}
	fetch := map[string][]int{}
	list := map[string][]kafka.OffsetRequest{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("reading metadata of %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			fetch[t.Name] = append(fetch[t.Name], p.ID)
			list[t.Name] = append(list[t.Name], kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	ends, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: list})
	if err != nil {
		return nil, fmt.Errorf("listing offsets: %w", err)
	}
	committed, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: fetch})
	if err != nil {
		return nil, fmt.Errorf("fetching committed offsets of %s: %w", group, err)
	}
	if committed.Error != nil {
		return nil, fmt.Errorf("fetching committed offsets of %s: %w", group, committed.Error)
	}
	done := map[string]map[int]int64{}
	for topic, parts := range committed.Topics {
		done[topic] = map[int]int64{}
		for _, p := range parts {
			if p.Error == nil && p.CommittedOffset >= 0 {
				done[topic][p.Partition] = p.CommittedOffset
			}
		}
	}
	out := make(map[string]int64, len(topics))
	for topic, parts := range ends.Topics {
		var lag int64
		for _, p := range parts {
			if p.Error != nil {
				return nil, fmt.Errorf("listing offsets of %s/%d: %w", topic, p.Partition, p.Error)
			}
			from, ok := done[topic][p.Partition]
			if !ok {
				from = p.FirstOffset
			}
			lag += max(p.LastOffset-from, 0)
		}
		out[topic] = lag
	}
	return out, nil
}

// DefaultLagInterval is ExportGroupLag's default interval.
const DefaultLagInterval = 15 * time.Second

// ExportGroupLag sets g{topic} from GroupLag now and then every interval until ctx
// ends. It blocks; run it in its own goroutine. A failed round (broker down) keeps
// the last values and logs once per failure streak.
//
// Each round costs the brokers, per group, a Metadata, a FindCoordinator and an
// OffsetFetch request plus two ListOffsets requests per partition (kafka-go
// sends one per partition and offset kind), so the interval is a standing
// request rate per group: 15 requests a round for a 6-partition topic, one a
// second at the 15 s default (DefaultLagInterval), while KEDA and Prometheus
// read the gauge every 15-30 s anyway.
func ExportGroupLag(ctx context.Context, cfg Config, group string, topics []string, g *prometheus.GaugeVec, interval time.Duration, log *zap.Logger) {
	if interval <= 0 {
		interval = DefaultLagInterval
	}
	if log == nil {
		log = zap.NewNop()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		rctx, cancel := context.WithTimeout(ctx, interval)
		lags, err := GroupLag(rctx, cfg, group, topics)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Warn("reading consumer-group lag", zap.String("group", group), zap.Error(err))
			failing = true
		case err == nil:
			failing = false
			for topic, lag := range lags {
				g.WithLabelValues(topic).Set(float64(lag))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
