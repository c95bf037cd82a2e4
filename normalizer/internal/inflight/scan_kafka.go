package inflight

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
)

// Scanner knows the canonical topic's end offsets and reads the CloudEvents ids
// written after given offsets.
type Scanner struct {
	brokers []string
	topic   string
	idKey   string
	client  *kafka.Client
	log     *zap.Logger
	wake    chan struct{}

	mu       sync.Mutex
	ends     map[int]int64
	at       time.Time     // when ends was read
	asked    bool          // Offsets was called since ends was read
	interval time.Duration // Run's interval; 0 before Run
}

// IdleRefresh is how often Run refreshes the end offsets while nobody asks for
// them (no batch in flight): it bounds how old the snapshot the first batch after
// a quiet spell claims with can be, at the cost of one ListOffsets request per
// partition.
const IdleRefresh = 30 * time.Second

// NewScanner returns a scanner of topic whose records carry their event id in
// header idKey. It keeps one client with pooled connections for its whole life;
// cluster metadata is kafka-go's default (refreshed within 6 s), so Scan sees a
// partition added to the topic about as soon as a producer does.
func NewScanner(brokers []string, topic, idKey string, log *zap.Logger) *Scanner {
	if log == nil {
		log = zap.NewNop()
	}
	tr := &kafka.Transport{ClientID: "courierhook-inflight", IdleTimeout: 5 * time.Minute}
	return &Scanner{
		brokers: brokers, topic: topic, idKey: idKey, log: log,
		client: &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr, Timeout: 10 * time.Second},
		wake:   make(chan struct{}, 1),
	}
}

// Offsets returns the end offsets seen by the last Refresh. Offsets only grow, so
// an old snapshot is a valid lower bound for a claim (a recovery then scans a few
// more records, all of which were produced); a partition missing from it is
// scanned from its start.
//
// A call marks the offsets as wanted, so Run keeps refreshing them every interval
// while batches flow; when the snapshot is older than that interval (the first
// batch after a quiet spell) the call also wakes Run to refresh at once, without
// waiting for it.
func (s *Scanner) Offsets() map[int]int64 {
	s.mu.Lock()
	s.asked = true
	old := s.interval > 0 && time.Since(s.at) >= s.interval
	ends := maps.Clone(s.ends)
	s.mu.Unlock()
	if old {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return ends
}

// Refresh reads the current end offsets of every partition: one ListOffsets
// request per partition (kafka-go sends one per partition and offset kind), end
// offsets only.
func (s *Scanner) Refresh(ctx context.Context) error {
	offs, err := s.listOffsets(ctx, false)
	if err != nil {
		return err
	}
	ends := make(map[int]int64, len(offs))
	for p, o := range offs {
		ends[p] = o.LastOffset
	}
	s.mu.Lock()
	s.ends, s.at, s.asked = ends, time.Now(), false
	s.mu.Unlock()
	return nil
}

// RefreshUntil retries Refresh every 200 ms until it succeeds or ctx ends; a topic
// created a moment ago may not be in every broker's metadata yet.
func (s *Scanner) RefreshUntil(ctx context.Context) error {
	for {
		err := s.Refresh(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Run refreshes the end offsets until ctx ends: every interval (or up to twice
// that, after an early refresh) while Offsets is being called, at once when Offsets finds the snapshot older than interval, and
// every IdleRefresh (or interval, if longer) otherwise, so an idle normalizer
// costs the broker almost nothing. Failures are logged and leave the previous
// snapshot, which stays a valid (older) lower bound; they also drop the
// scanner's connections and cached metadata (a leader may have moved).
func (s *Scanner) Run(ctx context.Context, interval time.Duration) {
	s.mu.Lock()
	s.interval = interval
	s.mu.Unlock()
	idle := max(IdleRefresh, interval)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		s.mu.Lock()
		age, asked := time.Since(s.at), s.asked
		s.mu.Unlock()
		if age < interval/2 || (!asked && age < idle) {
			continue
		}
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("refreshing canonical end offsets", zap.Error(err))
			broker.ResetTransport(s.client.Transport)
		}
	}
}

// listOffsets asks the partition leaders for every partition's end offset and,
// with first, its first retained offset too: one ListOffsets request per
// leader and offset kind (broker.ListOffsets).
func (s *Scanner) listOffsets(ctx context.Context, first bool) (map[int]kafka.PartitionOffsets, error) {
	md, err := s.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{s.topic}})
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s: %w", s.topic, err)
	}
	var parts []int
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("reading metadata of %s: %w", s.topic, t.Error)
		}
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("reading metadata of %s: no partitions", s.topic)
	}
	want := map[string][]int{s.topic: parts}
	ends, err := broker.ListOffsets(ctx, s.client, want, kafka.LastOffset)
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %s: %w", s.topic, err)
	}
	var starts broker.Offsets
	if first {
		if starts, err = broker.ListOffsets(ctx, s.client, want, kafka.FirstOffset); err != nil {
			return nil, fmt.Errorf("listing offsets of %s: %w", s.topic, err)
		}
	}
	out := make(map[int]kafka.PartitionOffsets, len(parts))
	for _, p := range parts {
		out[p] = kafka.PartitionOffsets{Partition: p, LastOffset: ends[s.topic][p], FirstOffset: starts[s.topic][p]}
	}
	return out, nil
}

// Recovered is one event found on the canonical topic by Scan: its id and the
// raw record it was made from (the raw_source header, "topic/partition/offset";
// empty when the record has none).
type Recovered struct {
	ID        string
	RawSource string
}

// Scan returns the event id and raw source of every record written to the
// canonical topic at or after from (per partition; partitions missing from from
// are read from their start) up to the current end.
func (s *Scanner) Scan(ctx context.Context, from map[int]int64) ([]Recovered, error) {
	offs, err := s.listOffsets(ctx, true)
	if err != nil {
		return nil, err
	}
	var ids []Recovered
	for p, po := range offs {
		start, ok := from[p]
		if !ok || start < po.FirstOffset {
			start = po.FirstOffset
		}
		if start >= po.LastOffset {
			continue
		}
		got, err := s.scanPartition(ctx, p, start, po.LastOffset)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

func (s *Scanner) scanPartition(ctx context.Context, partition int, start, end int64) ([]Recovered, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: s.brokers, Topic: s.topic, Partition: partition,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: time.Second,
	})
	defer r.Close()
	if err := r.SetOffset(start); err != nil {
		return nil, fmt.Errorf("seeking %s/%d: %w", s.topic, partition, err)
	}
	var ids []Recovered
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			return nil, fmt.Errorf("scanning %s/%d: %w", s.topic, partition, err)
		}
		var rec Recovered
		for _, h := range m.Headers {
			switch h.Key {
			case s.idKey:
				rec.ID = string(h.Value)
			case schemas.HeaderRawSource:
				rec.RawSource = string(h.Value)
			}
		}
		if rec.ID != "" {
			ids = append(ids, rec)
		}
		if m.Offset >= end-1 {
			return ids, nil
		}
	}
}
