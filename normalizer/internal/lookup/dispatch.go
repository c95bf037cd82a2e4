package lookup

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/topicscan"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
)

// Dispatcher retry and DLQ record headers the scan reads (the dispatcher's
// retry package defines them; the normalizer may not import a service).
const (
	headerDispatchSink      = "dispatch_sink"
	headerDispatchAttempt   = "dispatch_attempt"
	headerDispatchNotBefore = "dispatch_not_before"
)

// Outcome is what the dispatcher's retry and DLQ topics say about one event at
// one sink.
type Outcome struct {
	EventID string `json:"event_id"`
	Sink    string `json:"sink"`
	// State is "dead_lettered" (in the dispatch DLQ, with Reason), "retrying" (a
	// retry is scheduled in the future) or "retried" (it failed Attempts times and
	// its last scheduled retry is due: delivered then, or still in flight).
	State    string    `json:"state"`
	Attempts int       `json:"attempts"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// DispatchNote explains the outcomes list in every answer that has one.
const DispatchNote = "outcomes come from the dispatcher's retry and dead-letter topics; a sink not listed " +
	"took the event on its first attempt or had no route for it"

// DispatchScan finds outcomes by reading the dispatcher's retry and DLQ topics
// over a time window after the events, bounded in records.
type DispatchScan struct {
	client *topicscan.Client
	// Topics are the retry tier topics and the dispatch DLQ.
	Topics []string
	DLQ    string
	// Window is how long after the earliest event the scan reads (the retry tiers'
	// total delay plus slack). MaxRecords bounds the records read; a lookup that
	// would read more answers ErrScanTooLarge before reading anything.
	Window     time.Duration
	MaxRecords int64
	now        func() time.Time
}

// NewDispatchScan returns a scanner of topics (retry tiers and dlq).
func NewDispatchScan(brokers []string, retryTopics []string, dlq string, window time.Duration, maxRecords int64) *DispatchScan {
	return &DispatchScan{
		client: topicscan.New(brokers, 10*time.Second), Topics: append(append([]string{}, retryTopics...), dlq), DLQ: dlq,
		Window: window, MaxRecords: maxRecords, now: time.Now,
	}
}

type span struct {
	topic    string
	part     int
	from, to int64
}

// Outcomes implements Dispatcher.
func (d *DispatchScan) Outcomes(ctx context.Context, events []Event) ([]Outcome, error) {
	if len(events) == 0 {
		return []Outcome{}, nil
	}
	ids := map[string]bool{}
	subjects := map[string]bool{}
	start := events[0].Time
	for _, e := range events {
		ids[e.ID] = true
		subjects[e.Subject] = true
		if e.Time.Before(start) {
			start = e.Time
		}
	}
	// Event time may be the provider's clock; records are stamped when the
	// dispatcher wrote them, after the event was received.
	start = start.Add(-time.Hour)
	end := start.Add(d.Window + time.Hour)
	var spans []span
	var total int64
	for _, topic := range d.Topics {
		parts, err := d.client.Partitions(ctx, topic)
		if err != nil {
			return nil, err
		}
		from, err := d.client.OffsetsAt(ctx, topic, parts, start)
		if err != nil {
			return nil, err
		}
		to, err := d.client.OffsetsAt(ctx, topic, parts, end)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			if to[p] > from[p] {
				spans = append(spans, span{topic, p, from[p], to[p]})
				total += to[p] - from[p]
			}
		}
	}
	if total > d.MaxRecords {
		return nil, fmt.Errorf("%w: the dispatch topics hold %d records in the %s after the event (limit %d)",
			ErrScanTooLarge, total, d.Window, d.MaxRecords)
	}
	now := d.now()
	found := map[[2]string]*Outcome{}
	for _, s := range spans {
		err := d.client.Range(ctx, s.topic, s.part, s.from, s.to, func(m kafka.Message) error {
			if !subjects[string(m.Key)] {
				return nil
			}
			var v struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(m.Value, &v) != nil || !ids[v.ID] {
				return nil
			}
			sink := string(broker.Header(m, headerDispatchSink))
			k := [2]string{v.ID, sink}
			o := found[k]
			if o == nil {
				o = &Outcome{EventID: v.ID, Sink: sink}
				found[k] = o
			}
			att, _ := strconv.Atoi(string(broker.Header(m, headerDispatchAttempt)))
			if s.topic == d.DLQ {
				o.State, o.Attempts, o.At = "dead_lettered", max(o.Attempts, att), m.Time
				o.Reason = string(broker.Header(m, schemas.HeaderDLQReason))
				return nil
			}
			if o.State == "dead_lettered" || att < o.Attempts {
				return nil
			}
			o.Attempts, o.At, o.State = att, m.Time, "retried"
			if nb, err := time.Parse(time.RFC3339Nano, string(broker.Header(m, headerDispatchNotBefore))); err == nil && nb.After(now) {
				o.State = "retrying"
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]Outcome, 0, len(found))
	for _, o := range found {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].EventID != out[j].EventID {
			return out[i].EventID < out[j].EventID
		}
		return out[i].Sink < out[j].Sink
	})
	return out, nil
}

// RawTopic reads raw records for ?include=raw.
type RawTopic struct{ client *topicscan.Client }

// NewRawTopic returns a RawReader over brokers.
func NewRawTopic(brokers []string) *RawTopic {
	return &RawTopic{client: topicscan.New(brokers, 5*time.Second)}
}

// Read implements RawReader.
func (r *RawTopic) Read(ctx context.Context, at Location) (kafka.Message, error) {
	return r.client.Read(ctx, at.Topic, at.Partition, at.Offset)
}
