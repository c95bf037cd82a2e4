package repair

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/consume"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/topicscan"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
)

// RedriveConfig selects what a redrive reads and does.
type RedriveConfig struct {
	// DLQTopic is read; RawTopic is where records that now map are produced.
	DLQTopic, RawTopic string
	// Reason and Provider, when set, keep only dead letters with that dlq_reason
	// and provider header.
	Reason, Provider string
	// Since and Until, when set, keep only dead letters written in [Since, Until)
	// (the DLQ record's timestamp, which is its dlq_at).
	Since, Until time.Time
	// IncludeRedriven also considers dead letters that carry redriven_from: records
	// a redrive already sent back and the live normalizer dead-lettered again
	// (its adapters then differed from this command's). Off by default, so a
	// mismatch between the two builds cannot make every run send them again.
	IncludeRedriven bool
	// DryRun maps and counts without producing or marking.
	DryRun bool
	// BatchSize is the records handled per produce and Redis round trip. Default 200.
	BatchSize int
	// MarkTTL is how long a redriven dead letter is remembered; use the DLQ's
	// retention (a mark outliving its record costs nothing, one missing would let
	// a run send it again).
	MarkTTL time.Duration
}

// RedriveCounts are a redrive's progress.
type RedriveCounts struct {
	// Read is dead letters read in range; Selected passed the filters.
	Read, Selected int
	// Done were redriven by an earlier run; Skipped carry redriven_from.
	Done, SkippedRedriven int
	// NowMapped map with the current adapters; StillDead do not (they stay in the
	// DLQ and are not produced: the live normalizer would dead-letter them again).
	NowMapped, StillDead int
	// Redriven were produced back to the raw topic (0 in a dry run).
	Redriven int
	// Scan is how far the run is through the DLQ's offsets.
	Scan Position
}

// Redriver runs one redrive.
type Redriver struct {
	cfg       RedriveConfig
	scan      *topicscan.Client
	producer  Producer
	rdb       redis.UniversalClient
	prefix    string
	normalize NormalizeFunc
	// Progress, when set, is called after each batch with the counts so far.
	Progress func(RedriveCounts)
}

// NewRedriver returns a redriver. normalize nil means adapter.Normalize.
func NewRedriver(cfg RedriveConfig, brokers []string, producer Producer, rdb redis.UniversalClient, prefix string, normalize NormalizeFunc) (*Redriver, error) {
	if cfg.DLQTopic == "" || cfg.RawTopic == "" || cfg.DLQTopic == cfg.RawTopic {
		return nil, errors.New("redrive: distinct DLQ and raw topics are required")
	}
	if producer == nil && !cfg.DryRun {
		return nil, errors.New("redrive: a producer is required unless dry-run")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 200
	}
	if cfg.MarkTTL <= 0 {
		cfg.MarkTTL = 30 * 24 * time.Hour
	}
	if normalize == nil {
		normalize = adapter.Normalize
	}
	return &Redriver{cfg: cfg, scan: topicscan.New(brokers, 10*time.Second), producer: producer, rdb: rdb, prefix: prefix, normalize: normalize}, nil
}

// markKey remembers one redriven dead letter.
func (r *Redriver) markKey(m kafka.Message) string {
	return r.prefix + "rd:" + lookup.Location{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}.String()
}

// Run redrives the dead letters present when it starts (from Since), partition by
// partition, and returns the counts. It stops at the first error (nothing after
// the last acknowledged batch is marked, so a re-run resumes safely).
func (r *Redriver) Run(ctx context.Context) (RedriveCounts, error) {
	var n RedriveCounts
	parts, err := r.scan.Partitions(ctx, r.cfg.DLQTopic)
	if err != nil {
		return n, err
	}
	from, err := r.scan.OffsetsAt(ctx, r.cfg.DLQTopic, parts, r.cfg.Since)
	if err != nil {
		return n, err
	}
	bounds, err := r.scan.Bounds(ctx, r.cfg.DLQTopic, parts)
	if err != nil {
		return n, err
	}
	to := make(map[int]int64, len(bounds))
	for p, b := range bounds {
		to[p] = b.End
	}
	n.Scan.Total = span(parts, from, to)
	keep := func(m kafka.Message) bool {
		if !r.cfg.Until.IsZero() && !m.Time.Before(r.cfg.Until) {
			return false // timestamps grow within a partition (LogAppendTime or producer time)
		}
		n.Read++
		return true
	}
	for _, p := range parts {
		base := n.Scan.Done
		err := r.scan.RangeBatches(ctx, r.cfg.DLQTopic, p, from[p], to[p], r.cfg.BatchSize, keep,
			func(batch []kafka.Message) error {
				err := r.batch(ctx, batch, &n)
				if err == nil {
					n.Scan.Done = base + batch[len(batch)-1].Offset + 1 - from[p]
				}
				if r.Progress != nil {
					r.Progress(n)
				}
				return err
			})
		if err != nil {
			return n, err
		}
		// The partition's whole span is done, also when --until ended it early.
		n.Scan.Done = base + max(0, to[p]-from[p])
	}
	return n, nil
}

func (r *Redriver) selected(m kafka.Message) bool {
	if r.cfg.Reason != "" && string(broker.Header(m, schemas.HeaderDLQReason)) != r.cfg.Reason {
		return false
	}
	if r.cfg.Provider != "" && string(broker.Header(m, schemas.HeaderProvider)) != r.cfg.Provider {
		return false
	}
	return true
}

func (r *Redriver) batch(ctx context.Context, msgs []kafka.Message, n *RedriveCounts) error {
	var sel []kafka.Message
	for _, m := range msgs {
		if !r.selected(m) {
			continue
		}
		n.Selected++
		if !r.cfg.IncludeRedriven && broker.Header(m, lookup.HeaderRedrivenFrom) != nil {
			n.SkippedRedriven++
			continue
		}
		sel = append(sel, m)
	}
	if len(sel) == 0 {
		return nil
	}
	keys := make([]string, len(sel))
	for i, m := range sel {
		keys[i] = r.markKey(m)
	}
	done, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return fmt.Errorf("reading redrive marks: %w", err)
	}
	var out []kafka.Message
	var outKeys []string
	for i, m := range sel {
		if done[i] != nil {
			n.Done++
			continue
		}
		outs, err := normalizeSafe(r.normalize, consume.RawRecord(m))
		if err != nil || !maps(outs) {
			n.StillDead++
			continue
		}
		n.NowMapped++
		out = append(out, rawAgain(r.cfg.RawTopic, m))
		outKeys = append(outKeys, keys[i])
	}
	if r.cfg.DryRun || len(out) == 0 {
		return nil
	}
	if err := r.producer.WriteMessages(ctx, out...); err != nil {
		return fmt.Errorf("producing %d records to %s: %w", len(out), r.cfg.RawTopic, err)
	}
	// Marked only after the write was acknowledged: a crash in between sends the
	// batch again on the next run, and the live normalizer's dedup drops the
	// events it already produced from the first copy.
	pipe := r.rdb.Pipeline()
	for _, k := range outKeys {
		pipe.Set(ctx, k, "1", r.cfg.MarkTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("writing redrive marks: %w", err)
	}
	n.Redriven += len(out)
	return nil
}

// rawAgain is the dead letter m as a raw record again: the original key, value
// and headers, without the dlq_* headers (and an earlier redriven_from), plus
// redriven_from naming m.
func rawAgain(topic string, m kafka.Message) kafka.Message {
	h := make([]kafka.Header, 0, len(m.Headers)+1)
	for _, x := range m.Headers {
		if strings.HasPrefix(x.Key, "dlq_") || x.Key == lookup.HeaderRedrivenFrom {
			continue
		}
		h = append(h, x)
	}
	h = append(h, kafka.Header{Key: lookup.HeaderRedrivenFrom,
		Value: []byte(lookup.Location{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}.String())})
	return kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: h}
}
