package app

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// ReplayOptions selects the dead-lettered deliveries Replay re-sends.
type ReplayOptions struct {
	// Sink keeps only deliveries for this sink; empty means every sink.
	Sink string
	// Since and Until bound when the delivery was dead-lettered (dlq_at header,
	// else the record timestamp); zero means unbounded. Since is inclusive, Until exclusive.
	Since, Until time.Time
	// Progress receives one "replay n/total ok=… failed=…" line per delivery; nil discards.
	Progress io.Writer
}

// ReplayResult counts what Replay did.
type ReplayResult struct {
	// Total is the number of distinct deliveries selected.
	Total int
	// OK were accepted by their sink.
	OK int
	// Failed were not (they stay in the DLQ, which replay never alters).
	Failed int
	// Duplicates are DLQ records whose idempotency id this run already sent.
	Duplicates int
}

// Replay re-sends dead-lettered deliveries straight to their sinks, one attempt
// each under the sink's timeout.
//
// It reads the DLQ by offsets, not with a consumer group: every partition from
// its first retained offset up to the high watermark seen at start, so a run is
// a snapshot that ends, and records dead-lettered during the run wait for the
// next one. Nothing is committed or deleted; a run selects by sink and time, and
// within one run each idempotency id is sent at most once (a delivery can sit in
// the DLQ twice after a crash). Across runs receivers dedup on webhook-id /
// Idempotency-Key, which stays the id the original attempts used.
func (a *App) Replay(ctx context.Context, opts ReplayOptions) (ReplayResult, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.Sink != "" {
		if _, ok := a.sinks[opts.Sink]; !ok {
			return ReplayResult{}, fmt.Errorf("replay: unknown sink %q", opts.Sink)
		}
	}
	recs, err := readSnapshot(ctx, a.cfg.Kafka, a.cfg.DLQTopic)
	if err != nil {
		return ReplayResult{}, err
	}
	type item struct {
		msg  kafka.Message
		meta retry.Meta
	}
	var (
		items []item
		res   ReplayResult
		seen  = map[string]bool{}
	)
	for _, m := range recs {
		meta, err := retry.ParseMeta(m)
		if err != nil || meta.Sink == "-" || (opts.Sink != "" && meta.Sink != opts.Sink) {
			continue
		}
		at, perr := time.Parse(time.RFC3339Nano, string(broker.Header(m, schemas.HeaderDLQAt)))
		if perr != nil {
			at = m.Time
		}
		if (!opts.Since.IsZero() && at.Before(opts.Since)) || (!opts.Until.IsZero() && !at.Before(opts.Until)) {
			continue
		}
		if seen[meta.ID] {
			res.Duplicates++
			continue
		}
		seen[meta.ID] = true
		items = append(items, item{m, meta})
	}
	res.Total = len(items)
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		err := a.replayOne(ctx, it.msg, it.meta)
		if err != nil {
			res.Failed++
			a.log.Warn("replay delivery failed", zap.String("sink", it.meta.Sink), zap.String("idempotency_id", it.meta.ID), zap.Error(err))
		} else {
			res.OK++
			a.m.Replayed(it.meta.Sink)
		}
		fmt.Fprintf(opts.Progress, "replay %d/%d ok=%d failed=%d\n", i+1, res.Total, res.OK, res.Failed)
	}
	return res, nil
}

func (a *App) replayOne(ctx context.Context, m kafka.Message, meta retry.Meta) error {
	s, ok := a.sinks[meta.Sink]
	if !ok {
		return fmt.Errorf("sink %q is not in the routes file", meta.Sink)
	}
	var ev shipment.Event
	if err := shipment.Decode(m.Value, &ev); err != nil {
		return fmt.Errorf("decoding event: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, a.routes.Sinks[meta.Sink].Timeout)
	defer cancel()
	return s.Deliver(actx, sink.Delivery{ID: meta.ID, Key: m.Key, Body: m.Value, Event: &ev, Attempt: meta.Attempt + 1, EventTime: meta.EventTime})
}

// readSnapshot reads every partition of topic from its first offset to the high
// watermark at call time, ordered by partition then offset.
func readSnapshot(ctx context.Context, cfg broker.Config, topic string) ([]kafka.Message, error) {
	conn, err := kafka.DialContext(ctx, "tcp", cfg.Brokers[0])
	if err != nil {
		return nil, fmt.Errorf("dialing kafka: %w", err)
	}
	parts, err := conn.ReadPartitions(topic)
	_ = conn.Close()
	if err != nil {
		return nil, fmt.Errorf("reading partitions of %s: %w", topic, err)
	}
	var out []kafka.Message
	for _, p := range parts {
		lc, err := kafka.DialLeader(ctx, "tcp", cfg.Brokers[0], topic, p.ID)
		if err != nil {
			return nil, fmt.Errorf("dialing leader of %s/%d: %w", topic, p.ID, err)
		}
		first, last, err := lc.ReadOffsets()
		_ = lc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading offsets of %s/%d: %w", topic, p.ID, err)
		}
		if last <= first {
			continue
		}
		msgs, err := readRange(ctx, cfg, topic, p.ID, first, last)
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out, nil
}

func readRange(ctx context.Context, cfg broker.Config, topic string, part int, first, end int64) ([]kafka.Message, error) {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: topic, Partition: part, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return nil, fmt.Errorf("seeking %s/%d: %w", topic, part, err)
	}
	var out []kafka.Message
	for {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		m, err := r.FetchMessage(rctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("reading %s/%d: %w", topic, part, err)
		}
		out = append(out, m)
		if m.Offset >= end-1 {
			return out, nil
		}
	}
}

// Close releases the writers New opened, for callers that use Replay without Run.
func (a *App) Close() error { return a.closeWriters() }
