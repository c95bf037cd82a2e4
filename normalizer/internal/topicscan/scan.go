package topicscan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"
)

// Client reads one cluster.
type Client struct {
	c *kafka.Client
}

// New returns a client for brokers; timeout bounds each request.
func New(brokers []string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Client{c: &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: timeout}}
}

// Partitions lists topic's partition ids in order. A topic the cluster does not
// know yet, or whose leaders are being elected (just created, or a broker
// restarting), is asked again for up to 10 s with backoff before the error is
// returned.
func (c *Client) Partitions(ctx context.Context, topic string) ([]int, error) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = 100*time.Millisecond, time.Second
	return backoff.Retry(ctx, func() ([]int, error) {
		ids, err := c.partitions(ctx, topic)
		if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) && !errors.Is(err, kafka.LeaderNotAvailable) {
			return nil, backoff.Permanent(err)
		}
		return ids, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(10*time.Second))
}

func (c *Client) partitions(ctx context.Context, topic string) ([]int, error) {
	md, err := c.c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s: %w", topic, err)
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("reading metadata of %s: %w", topic, t.Error)
		}
		ids := make([]int, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ids = append(ids, p.ID)
		}
		sort.Ints(ids)
		return ids, nil
	}
	return nil, fmt.Errorf("reading metadata of %s: %w", topic, kafka.UnknownTopicOrPartition)
}

// Bounds are a partition's first and end (next to be written) offsets.
type Bounds struct{ First, End int64 }

// Bounds returns each partition's first and end offset.
func (c *Client) Bounds(ctx context.Context, topic string, parts []int) (map[int]Bounds, error) {
	out := make(map[int]Bounds, len(parts))
	for _, which := range []int64{kafka.FirstOffset, kafka.LastOffset} {
		reqs := make([]kafka.OffsetRequest, len(parts))
		for i, p := range parts {
			reqs[i] = kafka.OffsetRequest{Partition: p, Timestamp: which}
		}
		resp, err := c.c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
		if err != nil {
			return nil, fmt.Errorf("listing offsets of %s: %w", topic, err)
		}
		for _, po := range resp.Topics[topic] {
			if po.Error != nil {
				return nil, fmt.Errorf("listing offsets of %s/%d: %w", topic, po.Partition, po.Error)
			}
			b := out[po.Partition]
			if which == kafka.FirstOffset {
				b.First = po.FirstOffset
			} else {
				b.End = po.LastOffset
			}
			out[po.Partition] = b
		}
	}
	return out, nil
}

// OffsetsAt returns, per partition, the first offset whose record time is at or
// after t; the partition's end offset where no record is that late. A zero t
// gives the first offsets.
func (c *Client) OffsetsAt(ctx context.Context, topic string, parts []int, t time.Time) (map[int]int64, error) {
	b, err := c.Bounds(ctx, topic, parts)
	if err != nil {
		return nil, err
	}
	out := make(map[int]int64, len(parts))
	for _, p := range parts {
		out[p] = b[p].First
	}
	if t.IsZero() {
		return out, nil
	}
	reqs := make([]kafka.OffsetRequest, len(parts))
	for i, p := range parts {
		reqs[i] = kafka.TimeOffsetOf(p, t)
		out[p] = b[p].End
	}
	resp, err := c.c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %s at %s: %w", topic, t, err)
	}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("listing offsets of %s/%d at %s: %w", topic, po.Partition, t, po.Error)
		}
		for off := range po.Offsets {
			if off >= 0 {
				out[po.Partition] = off
			}
		}
	}
	return out, nil
}

// ErrStop ends Range early without an error.
var ErrStop = errors.New("stop")

// RangeBatches is Range in batches of at most size records: fn gets each full
// batch and then the last, partial one (the slice is reused once fn returns).
// keep, when not nil, sees each record first; the range ends, without an error,
// at the first record it refuses.
func (c *Client) RangeBatches(ctx context.Context, topic string, partition int, from, to int64, size int,
	keep func(kafka.Message) bool, fn func([]kafka.Message) error) error {
	var batch []kafka.Message
	err := c.Range(ctx, topic, partition, from, to, func(m kafka.Message) error {
		if keep != nil && !keep(m) {
			return ErrStop
		}
		batch = append(batch, m)
		if len(batch) < size {
			return nil
		}
		err := fn(batch)
		batch = batch[:0]
		return err
	})
	if err == nil && len(batch) > 0 {
		err = fn(batch)
	}
	return err
}

// Range calls fn for each record of topic/partition with from <= offset < to, in
// offset order. fn returning ErrStop ends it with a nil error; any other error is
// returned as is.
func (c *Client) Range(ctx context.Context, topic string, partition int, from, to int64, fn func(kafka.Message) error) error {
	off := from
	for off < to {
		resp, err := c.c.Fetch(ctx, &kafka.FetchRequest{
			Topic: topic, Partition: partition, Offset: off,
			MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 500 * time.Millisecond,
		})
		if err != nil {
			return fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, off, err)
		}
		if resp.Error != nil {
			return fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, off, resp.Error)
		}
		next, err := drain(resp.Records, topic, partition, off, to, fn)
		if errors.Is(err, ErrStop) {
			return nil
		}
		if err != nil {
			return err
		}
		if next == off {
			if resp.HighWatermark <= off {
				return fmt.Errorf("%s/%d ends at %d before %d", topic, partition, resp.HighWatermark, to)
			}
			// Only records below off came back (or a compacted gap): skip ahead.
			if resp.LogStartOffset > off {
				next = resp.LogStartOffset
			} else {
				next = off + 1
			}
		}
		off = next
	}
	return nil
}

func drain(rr kafka.RecordReader, topic string, partition int, off, to int64, fn func(kafka.Message) error) (int64, error) {
	if rr == nil {
		return off, nil
	}
	next := off
	for {
		r, err := rr.ReadRecord()
		if errors.Is(err, io.EOF) {
			return next, nil
		}
		if err != nil {
			return next, fmt.Errorf("reading records of %s/%d: %w", topic, partition, err)
		}
		if r.Offset < off {
			continue
		}
		if r.Offset >= to {
			return to, nil
		}
		m := kafka.Message{Topic: topic, Partition: partition, Offset: r.Offset, Time: r.Time}
		if r.Key != nil {
			m.Key, err = io.ReadAll(r.Key)
			if err != nil {
				return next, err
			}
		}
		if r.Value != nil {
			m.Value, err = io.ReadAll(r.Value)
			if err != nil {
				return next, err
			}
		}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		next = r.Offset + 1
		if err := fn(m); err != nil {
			return next, err
		}
	}
}

// Read returns the record at topic/partition/offset.
func (c *Client) Read(ctx context.Context, topic string, partition int, offset int64) (kafka.Message, error) {
	var out kafka.Message
	found := false
	err := c.Range(ctx, topic, partition, offset, offset+1, func(m kafka.Message) error {
		out, found = m, true
		return ErrStop
	})
	if err != nil {
		return out, err
	}
	if !found {
		return out, fmt.Errorf("no record at %s/%d/%d", topic, partition, offset)
	}
	return out, nil
}
