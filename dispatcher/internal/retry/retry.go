package retry

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/platform/broker"
)

// Record headers of retry and DLQ records. The DLQ additionally carries the
// schemas.HeaderDLQ* headers (reason, error, source, time, service).
const (
	// HeaderSink names the one sink the record is for.
	HeaderSink = "dispatch_sink"
	// HeaderAttempt is how many attempts failed so far (decimal).
	HeaderAttempt = "dispatch_attempt"
	// HeaderID is the idempotency id (sink.IdempotencyID).
	HeaderID = "dispatch_id"
	// HeaderFirstFailure is when the first attempt failed, RFC 3339 UTC.
	HeaderFirstFailure = "dispatch_first_failure"
	// HeaderLastError is the last attempt's error text (never payload data).
	HeaderLastError = "dispatch_last_error"
	// HeaderNotBefore is the earliest time the next attempt may run, RFC 3339 UTC.
	HeaderNotBefore = "dispatch_not_before"
	// HeaderTier is the index of the tier the record sits in (0-based).
	HeaderTier = "dispatch_tier"
	// HeaderSource is "topic/partition/offset" of the canonical record.
	HeaderSource = "dispatch_source"
	// HeaderEventTime is the canonical record's timestamp, RFC 3339 UTC, for
	// end-to-end latency after retries.
	HeaderEventTime = "dispatch_event_time"
)

// DefaultDelays are the tier delays used when DISPATCHER_RETRY_DELAYS is unset.
var DefaultDelays = []time.Duration{10 * time.Second, time.Minute, 10 * time.Minute, time.Hour}

// Tiers is the ordered list of retry delays and their topics.
type Tiers struct {
	prefix string
	delays []time.Duration
	jitter float64
}

// NewTiers returns tiers whose topics are prefix+label ("shipments.dispatch.retry.10s").
// jitter in [0,1) spreads each delay uniformly by ±jitter so a burst of failures
// does not come back as a burst.
func NewTiers(prefix string, delays []time.Duration, jitter float64) (*Tiers, error) {
	if len(delays) == 0 {
		return nil, errors.New("retry: at least one delay tier")
	}
	for i, d := range delays {
		if d <= 0 {
			return nil, fmt.Errorf("retry: delay %d is not positive", i)
		}
		// Equal delays would share one topic and one consumer group: a record
		// "handed to the next tier" would land back on its own topic and could
		// cycle there without ever reaching the DLQ.
		if i > 0 && d <= delays[i-1] {
			return nil, fmt.Errorf("retry: delays must increase (%s after %s)", d, delays[i-1])
		}
	}
	if jitter < 0 || jitter >= 1 {
		return nil, errors.New("retry: jitter must be in [0,1)")
	}
	return &Tiers{prefix: prefix, delays: delays, jitter: jitter}, nil
}

// Len is the number of tiers.
func (t *Tiers) Len() int { return len(t.delays) }

// Delay is tier i's nominal delay.
func (t *Tiers) Delay(i int) time.Duration { return t.delays[i] }

// Topic is tier i's topic name.
func (t *Tiers) Topic(i int) string { return t.prefix + Label(t.delays[i]) }

// Topics lists every tier topic in order.
func (t *Tiers) Topics() []string {
	out := make([]string, len(t.delays))
	for i := range t.delays {
		out[i] = t.Topic(i)
	}
	return out
}

// Jittered is tier i's delay spread by the jitter factor.
func (t *Tiers) Jittered(i int) time.Duration {
	d := t.delays[i]
	if t.jitter == 0 {
		return d
	}
	f := 1 + t.jitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * f)
}

// Label renders a delay compactly for topic names and metrics: 10s, 1m, 1h, 300ms.
func Label(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Meta is what a retry or DLQ record says about its delivery.
type Meta struct {
	Sink         string
	Attempt      int
	ID           string
	FirstFailure time.Time
	LastError    string
	NotBefore    time.Time
	Tier         int
	Source       string
	EventTime    time.Time
}

// Headers renders m as record headers.
func (m Meta) Headers() []kafka.Header {
	h := []kafka.Header{
		{Key: HeaderSink, Value: []byte(m.Sink)},
		{Key: HeaderAttempt, Value: []byte(strconv.Itoa(m.Attempt))},
		{Key: HeaderID, Value: []byte(m.ID)},
		{Key: HeaderFirstFailure, Value: []byte(m.FirstFailure.UTC().Format(time.RFC3339Nano))},
		{Key: HeaderLastError, Value: []byte(truncate(m.LastError, 512))},
		{Key: HeaderTier, Value: []byte(strconv.Itoa(m.Tier))},
		{Key: HeaderSource, Value: []byte(m.Source)},
	}
	if !m.NotBefore.IsZero() {
		h = append(h, kafka.Header{Key: HeaderNotBefore, Value: []byte(m.NotBefore.UTC().Format(time.RFC3339Nano))})
	}
	if !m.EventTime.IsZero() {
		h = append(h, kafka.Header{Key: HeaderEventTime, Value: []byte(m.EventTime.UTC().Format(time.RFC3339Nano))})
	}
	return h
}

// ErrNoSinkHeader is returned by ParseMeta for a record without a dispatch_sink
// header: not a retry or DLQ record of the dispatcher.
var ErrNoSinkHeader = errors.New("record has no dispatch_sink header")

// ParseMeta reads the headers of a retry or DLQ record.
func ParseMeta(msg kafka.Message) (Meta, error) {
	m := Meta{
		Sink:      string(broker.Header(msg, HeaderSink)),
		ID:        string(broker.Header(msg, HeaderID)),
		LastError: string(broker.Header(msg, HeaderLastError)),
		Source:    string(broker.Header(msg, HeaderSource)),
	}
	if m.Sink == "" {
		return m, ErrNoSinkHeader
	}
	m.Attempt, _ = strconv.Atoi(string(broker.Header(msg, HeaderAttempt)))
	m.Tier, _ = strconv.Atoi(string(broker.Header(msg, HeaderTier)))
	m.FirstFailure, _ = time.Parse(time.RFC3339Nano, string(broker.Header(msg, HeaderFirstFailure)))
	m.NotBefore, _ = time.Parse(time.RFC3339Nano, string(broker.Header(msg, HeaderNotBefore)))
	m.EventTime, _ = time.Parse(time.RFC3339Nano, string(broker.Header(msg, HeaderEventTime)))
	return m, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
