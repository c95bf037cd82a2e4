package e2e

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courierhook/pipeline/deployments/internal/seed"
)

// Driver sends the workload to the gateway and keeps what the audit needs: the
// acknowledged request ids, the (tag, template) pairs acknowledged at least once,
// the ack latencies.
type Driver struct {
	// GatewayURL is the gateway's base URL ("http://127.0.0.1:8080").
	GatewayURL string
	// Creds sign each request the way its provider does.
	Creds seed.Credentials
	// Work produces the requests.
	Work *Workload
	// RunID prefixes the X-Request-Id values the driver sends.
	RunID string

	client   *http.Client
	reqSeq   atomic.Int64
	inflight atomic.Int64

	// owed is run-wide: tag -> template index for every request acknowledged in
	// any period so far; ackedAll is every request id acknowledged so far. A
	// period's audit compares what a tag has on the canonical topic with what all
	// periods owe for it, since the two halves of an out-of-order pair (or a
	// duplicate and its original) can be sent in two periods.
	owed     map[string]map[int]bool
	ackedAll map[string]string // request id -> tag

	mu    sync.Mutex
	stats *Stats
}

// Stats are the figures of one load period (see Driver.Begin).
type Stats struct {
	Start, End time.Time
	// Sent counts requests sent, Acked the 2xx answers.
	Sent, Acked, Duplicates, OutOfOrder int
	// Failed counts transport errors (connection refused during a restart...);
	// Status counts the non-2xx answers by code. Neither is acknowledged.
	Failed int
	Status map[int]int
	// Overrun counts fixed-rate slots skipped because too many requests were in flight.
	Overrun int
	// AckedIDs are the request ids the gateway acknowledged.
	AckedIDs map[string]struct{}
	// Expected maps tag -> template index -> true for every acknowledged pair.
	Expected map[string]map[int]bool
	// Owed is Expected over every period up to this one's end (a copy taken by
	// End); AckedAll the request ids acknowledged in any period so far, with
	// their tags. Nil before End.
	Owed     map[string]map[int]bool
	AckedAll map[string]string
	// Latencies are the 2xx ack latencies.
	Latencies []time.Duration
}

// ExpectedEvents is the number of distinct canonical events the acknowledged
// requests of tag must yield.
func (s *Stats) ExpectedEvents(w *Workload, tag string) int { return eventsOf(w, s.Expected[tag]) }

// OwedEvents is the number of distinct canonical events tag owes over every
// period up to this one (ExpectedEvents when the period has not ended).
func (s *Stats) OwedEvents(w *Workload, tag string) int {
	if s.Owed == nil {
		return s.ExpectedEvents(w, tag)
	}
	return eventsOf(w, s.Owed[tag])
}

func eventsOf(w *Workload, templates map[int]bool) int {
	n := 0
	for ti := range templates {
		n += w.Templates[ti].Events
	}
	return n
}

// Rate is acknowledged requests per second of the period.
func (s *Stats) Rate() float64 {
	d := s.End.Sub(s.Start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.Acked) / d
}

// Percentile returns the p-quantile (0..1) of the ack latencies.
func (s *Stats) Percentile(p float64) time.Duration { return percentile(s.Latencies, p) }

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// NewDriver returns a driver with an HTTP client sized for conc connections.
func NewDriver(gatewayURL string, creds seed.Credentials, work *Workload, runID string, conc int) *Driver {
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, IdleConnTimeout: time.Minute}
	return &Driver{GatewayURL: gatewayURL, Creds: creds, Work: work, RunID: runID,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Begin starts a new period; later requests are counted in the returned Stats.
func (d *Driver) Begin() *Stats {
	s := &Stats{Start: time.Now(), Status: map[int]int{}, AckedIDs: map[string]struct{}{}, Expected: map[string]map[int]bool{}}
	d.mu.Lock()
	d.stats = s
	d.mu.Unlock()
	return s
}

// Acked returns how many requests of the current period were acknowledged so
// far (0 between periods).
func (d *Driver) Acked() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stats == nil {
		return 0
	}
	return d.stats.Acked
}

// End closes the period (call after the load stopped) and sorts its latencies.
func (d *Driver) End() *Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.End = time.Now()
	slices.Sort(s.Latencies)
	s.Owed = make(map[string]map[int]bool, len(d.owed))
	for tag, m := range d.owed {
		s.Owed[tag] = maps.Clone(m)
	}
	s.AckedAll = maps.Clone(d.ackedAll)
	d.stats = nil
	return s
}

// send posts one request and records the answer.
func (d *Driver) send(ctx context.Context) {
	r := d.Work.Next()
	t := d.Work.Templates[r.Template]
	req, err := d.Creds.Request(ctx, d.GatewayURL, t.Provider, r.Body)
	if err != nil {
		d.record(r, "", 0, 0, err)
		return
	}
	id := "r" + d.RunID + "-" + strconv.FormatInt(d.reqSeq.Add(1), 10)
	req.Header.Set("X-Request-Id", id)
	t0 := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		d.record(r, "", 0, 0, err)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	lat := time.Since(t0)
	if got := resp.Header.Get("X-Request-Id"); got != "" {
		id = got
	} else {
		var ack struct {
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(body, &ack) == nil && ack.RequestID != "" {
			id = ack.RequestID
		}
	}
	d.record(r, id, resp.StatusCode, lat, nil)
}

func (d *Driver) record(r Request, id string, code int, lat time.Duration, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	if s == nil {
		return
	}
	s.Sent++
	if r.Duplicate {
		s.Duplicates++
	}
	if r.OutOfOrder {
		s.OutOfOrder++
	}
	switch {
	case err != nil:
		s.Failed++
	case code >= 200 && code < 300:
		s.Acked++
		s.AckedIDs[id] = struct{}{}
		m := s.Expected[r.Tag]
		if m == nil {
			m = map[int]bool{}
			s.Expected[r.Tag] = m
		}
		m[r.Template] = true
		if d.owed == nil {
			d.owed, d.ackedAll = map[string]map[int]bool{}, map[string]string{}
		}
		if d.owed[r.Tag] == nil {
			d.owed[r.Tag] = map[int]bool{}
		}
		d.owed[r.Tag][r.Template] = true
		d.ackedAll[id] = r.Tag
		s.Latencies = append(s.Latencies, lat)
	default:
		s.Status[code]++
	}
}

// RunRate sends rate requests per second, open loop (a slow answer does not
// delay the next request), for dur or until ctx ends, with at most maxInflight
// requests outstanding (beyond that a slot is counted as overrun and skipped).
func (d *Driver) RunRate(ctx context.Context, rate int, dur time.Duration, maxInflight int) {
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	sent := 0
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		due := int(time.Since(start).Seconds() * float64(rate))
		for ; sent < due; sent++ {
			if d.inflight.Load() >= int64(maxInflight) {
				d.mu.Lock()
				if d.stats != nil {
					d.stats.Overrun++
				}
				d.mu.Unlock()
				continue
			}
			d.inflight.Add(1)
			wg.Go(func() {
				defer d.inflight.Add(-1)
				d.send(context.WithoutCancel(ctx))
			})
		}
	}
}

// RunMax sends as fast as conc closed-loop workers go, for dur.
func (d *Driver) RunMax(ctx context.Context, conc int, dur time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				d.send(context.WithoutCancel(ctx))
			}
		})
	}
	wg.Wait()
}
