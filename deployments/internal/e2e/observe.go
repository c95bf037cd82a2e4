package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
)

// Observer tails every partition of the raw and canonical topics from the first
// offset with partition readers (no consumer group, so the services' offsets are
// untouched) and keeps what the audit and the latency figures need.
type Observer struct {
	mu sync.Mutex
	// raw: request_id header -> occurrences.
	raw map[string]int
	// canonical: CloudEvents id -> occurrences; tag -> distinct ids.
	ceCount map[string]int
	ceReq   map[string]string // CloudEvents id -> data.raw.request_id of its first copy
	byTag   map[string]map[string]bool
	ceLat   []sample
	rawLat  []sample       // gateway receipt -> raw record read here (the gateway's share, plus this tail's fetch)
	ceTimes []time.Time    // record timestamps, for throughput
	counts  map[string]int // KindCount topics
	ceRecs  int            // canonical records read, copies included
	changed time.Time
	wg      sync.WaitGroup
}

// NewObserver returns an empty observer; Tail starts it on a topic.
func NewObserver() *Observer {
	return &Observer{raw: map[string]int{}, ceCount: map[string]int{}, ceReq: map[string]string{}, byTag: map[string]map[string]bool{}, counts: map[string]int{}, changed: time.Now()}
}

// Kind says how Tail interprets a topic's records.
type Kind int

// Kinds of topics.
const (
	KindRaw       Kind = iota // raw webhooks: request_id headers
	KindCanonical             // canonical events
	KindCount                 // anything else (dead letters): counted
)

// Tail reads every partition of topic until ctx ends.
func (o *Observer) Tail(ctx context.Context, brokers []string, topic string, partitions int, kind Kind) {
	for p := range partitions {
		o.wg.Go(func() {
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 10 << 20,
				// As the services (broker.DefaultMaxWait): a shorter wait times out
				// idle fetches on a busy host, and every reconnect loads Kafka.
				MaxWait: broker.DefaultMaxWait, StartOffset: kafka.FirstOffset,
				ReadBackoffMin: 100 * time.Millisecond, ReadBackoffMax: time.Second,
			})
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() != nil || errors.Is(err, context.Canceled) {
						return
					}
					time.Sleep(200 * time.Millisecond)
					continue
				}
				switch kind {
				case KindCanonical:
					o.canonical(m)
				case KindRaw:
					o.rawRecord(m)
				default:
					o.mu.Lock()
					o.counts[topic]++
					o.mu.Unlock()
				}
			}
		})
	}
}

// Wait waits for the tailers to stop (after their ctx ended).
func (o *Observer) Wait() { o.wg.Wait() }

func (o *Observer) rawRecord(m kafka.Message) {
	id := string(broker.Header(m, schemas.HeaderRequestID))
	rx, _ := time.Parse(time.RFC3339Nano, string(broker.Header(m, schemas.HeaderReceivedAt)))
	o.mu.Lock()
	if o.raw[id] == 0 && !rx.IsZero() {
		o.rawLat = append(o.rawLat, sample{at: rx, lat: time.Since(rx)})
	}
	o.raw[id]++
	o.changed = time.Now()
	o.mu.Unlock()
}

func (o *Observer) canonical(m kafka.Message) {
	var ev struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Data    struct {
			ReceivedAt time.Time `json:"received_at"`
			Raw        struct {
				RequestID string `json:"request_id"`
			} `json:"raw"`
		} `json:"data"`
	}
	_ = json.Unmarshal(m.Value, &ev)
	tag := TagOf(ev.Subject)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ceCount[ev.ID]++
	o.ceRecs++
	if _, ok := o.ceReq[ev.ID]; !ok {
		o.ceReq[ev.ID] = ev.Data.Raw.RequestID
	}
	if tag != "" {
		s := o.byTag[tag]
		if s == nil {
			s = map[string]bool{}
			o.byTag[tag] = s
		}
		s[ev.ID] = true
	}
	if o.ceCount[ev.ID] == 1 && !ev.Data.ReceivedAt.IsZero() {
		o.ceLat = append(o.ceLat, sample{at: ev.Data.ReceivedAt, lat: m.Time.Sub(ev.Data.ReceivedAt)})
		o.ceTimes = append(o.ceTimes, m.Time)
	}
	o.changed = time.Now()
}

// CanonicalRecords returns the canonical records read so far, copies
// included (cheap: for sampling progress).
func (o *Observer) CanonicalRecords() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ceRecs
}

// Distinct returns the distinct canonical ids read so far.
func (o *Observer) Distinct() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.ceCount)
}

// CanonicalTimes returns the record timestamps of the first copy of every
// canonical event read so far, sorted.
func (o *Observer) CanonicalTimes() []time.Time {
	o.mu.Lock()
	out := slices.Clone(o.ceTimes)
	o.mu.Unlock()
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// RawCount returns how many times request id is on the raw topic.
func (o *Observer) RawCount(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.raw[id]
}

// EventsOf returns the distinct canonical ids seen for tag.
func (o *Observer) EventsOf(tag string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]string, 0, len(o.byTag[tag]))
	for id := range o.byTag[tag] {
		out = append(out, id)
	}
	return out
}

// RequestOf returns the gateway request id the canonical event came from.
func (o *Observer) RequestOf(id string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ceReq[id]
}

// CanonicalCount returns how many times the canonical id is on the topic.
func (o *Observer) CanonicalCount(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ceCount[id]
}

// Totals returns raw records and canonical records seen so far.
func (o *Observer) Totals() (raw, canonical int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range o.raw {
		raw += n
	}
	for _, n := range o.ceCount {
		canonical += n
	}
	return raw, canonical
}

// Latencies returns the sorted gateway receipt → canonical record latencies of
// events the gateway received in [from, to).
func (o *Observer) Latencies(from, to time.Time) []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return window(o.ceLat, from, to)
}

// RawLatencies returns the sorted gateway receipt → raw record read by the tail
// latencies of requests the gateway received in [from, to). The gateway stamps
// raw records with the receipt time, so arrival here is what shows its share.
func (o *Observer) RawLatencies(from, to time.Time) []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return window(o.rawLat, from, to)
}

// Throughput returns the canonical events per second between the first and the
// last record timestamped in [from, to), and their count.
func (o *Observer) Throughput(from, to time.Time) (float64, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var first, last time.Time
	n := 0
	for _, t := range o.ceTimes {
		if t.Before(from) || !t.Before(to) {
			continue
		}
		n++
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	if n < 2 {
		return 0, n
	}
	return float64(n-1) / last.Sub(first).Seconds(), n
}

// window returns the sorted latencies of samples dated in [from, to).
// sample is one latency measurement, dated by the gateway receipt it starts at.
type sample struct {
	at  time.Time
	lat time.Duration
}

func window(ss []sample, from, to time.Time) []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		if !s.at.Before(from) && s.at.Before(to) {
			out = append(out, s.lat)
		}
	}
	slices.Sort(out)
	return out
}

// Count returns the records seen on a KindCount topic.
func (o *Observer) Count(topic string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[topic]
}
