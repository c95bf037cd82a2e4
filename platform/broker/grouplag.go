package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// newLagClient is the client of the lag readers: its own pooled connections
// (kept 5 minutes, longer than any lag interval, so a round never dials) and
// cluster metadata cached 5 minutes, so an exporter costs almost no Metadata
// requests. A round that fails drops the pool (ResetTransport), which also
// refreshes the metadata after a leader move.
func newLagClient(cfg Config) *kafka.Client {
	tr := &kafka.Transport{ClientID: clientID(cfg), IdleTimeout: 5 * time.Minute, MetadataTTL: 5 * time.Minute}
	return &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: 10 * time.Second}
}

// groupLag returns, for each topic, how many records the consumer group has not
// committed yet: the sum over the topic's partitions of the end offset minus the
// group's committed offset (a partition without a commit counts from its first
// retained offset, as a group starting at the earliest offset would read it).
//
// This is the lag an autoscaler (KEDA) and an operator mean. kafka-go's
// Reader.Stats().Lag is not: it is the fetch position of whichever partition the
// reader read last, and it stops moving when the reader stops reading.
//
// It reads the committed offsets first, then asks the partition leaders for
// the end offset of every partition (one ListOffsets request per leader) and,
// in a second request, the first offset of the partitions without a commit,
// if any.
func groupLag(ctx context.Context, c *kafka.Client, group string, topics []string) (map[string]int64, error) {
	meta, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("reading metadata: %w", err)
	}
	fetch := map[string][]int{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("reading metadata of %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			fetch[t.Name] = append(fetch[t.Name], p.ID)
		}
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
	ends, err := ListOffsets(ctx, c, fetch, kafka.LastOffset)
	if err != nil {
		return nil, err
	}
	uncommitted := map[string][]int{}
	for topic, parts := range fetch {
		for _, p := range parts {
			if _, ok := done[topic][p]; !ok {
				uncommitted[topic] = append(uncommitted[topic], p)
			}
		}
	}
	var starts Offsets
	if len(uncommitted) > 0 {
		if starts, err = ListOffsets(ctx, c, uncommitted, kafka.FirstOffset); err != nil {
			return nil, err
		}
	}
	out := make(map[string]int64, len(topics))
	for topic, parts := range ends {
		var lag int64
		for p, end := range parts {
			from, ok := done[topic][p]
			if !ok {
				from = starts[topic][p]
			}
			lag += max(end-from, 0)
		}
		out[topic] = lag
	}
	return out, nil
}

// DefaultLagInterval is ExportGroupLag's default interval.
const DefaultLagInterval = 15 * time.Second

// ExportGroupLag sets g{topic} to the group's lag (groupLag) now and then every interval until ctx
// ends. It blocks; run it in its own goroutine. A failed round (broker down) keeps
// the last values, drops the exporter's connections and cached metadata, and logs
// once per failure streak.
//
// One client serves every round, so a round dials nothing and reads metadata from
// the client's cache (refreshed every 5 minutes or after a failed round). Each
// round costs the brokers, per group, a FindCoordinator and an OffsetFetch
// request, one ListOffsets request per partition leader, and one more per
// leader of partitions the group has never committed (ListOffsets): 3 requests a
// round for a committed topic on one broker, one every 5 s at the 15 s default
// (DefaultLagInterval), while KEDA and Prometheus read the gauge every 15-30 s
// anyway.
func ExportGroupLag(ctx context.Context, cfg Config, group string, topics []string, g *prometheus.GaugeVec, interval time.Duration, log *zap.Logger) {
	if interval <= 0 {
		interval = DefaultLagInterval
	}
	if log == nil {
		log = zap.NewNop()
	}
	c := newLagClient(cfg)
	defer ResetTransport(c.Transport)
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		rctx, cancel := context.WithTimeout(ctx, interval)
		lags, err := groupLag(rctx, c, group, topics)
		cancel()
		if err != nil {
			ResetTransport(c.Transport)
		}
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
