package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courierhook/pipeline/deployments/internal/devrun"
)

// Sink is the downstream HTTP receiver the dispatcher delivers to. It verifies
// each Standard Webhooks signature, counts successful deliveries per CloudEvents
// id and per idempotency id (webhook-id), and measures gateway receipt → sink
// latency from the event's data.received_at. SetFailing makes it answer 503.
type Sink struct {
	// Secret is the Standard Webhooks secret the dispatcher signs with.
	Secret string

	srv     *http.Server
	ln      net.Listener
	failing atomic.Bool

	mu        sync.Mutex
	byEvent   map[string]int
	byWebhook map[string]int
	lat       []sample
	refused   int
	badSig    int
	changed   time.Time
}

// sample is one latency measurement, dated by the gateway receipt it starts at.
type sample struct {
	at  time.Time
	lat time.Duration
}

// NewSink listens on a free loopback port.
func NewSink(secret string) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting sink: %w", err)
	}
	s := &Sink{Secret: secret, ln: ln, byEvent: map[string]int{}, byWebhook: map[string]int{}, changed: time.Now()}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the endpoint for the routes file.
func (s *Sink) URL() string { return "http://" + s.ln.Addr().String() + "/deliveries" }

// SetFailing switches 503 answers on or off.
func (s *Sink) SetFailing(on bool) { s.failing.Store(on) }

// Close stops the listener.
func (s *Sink) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

func (s *Sink) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	if s.failing.Load() {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		http.Error(w, "injected failure", http.StatusServiceUnavailable)
		return
	}
	wid := r.Header.Get("webhook-id")
	if err := devrun.VerifyStandardWebhook(s.Secret, wid, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body); err != nil {
		s.mu.Lock()
		s.badSig++
		s.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev struct {
		ID   string `json:"id"`
		Data struct {
			ReceivedAt time.Time `json:"received_at"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &ev)
	now := time.Now()
	s.mu.Lock()
	s.byEvent[ev.ID]++
	s.byWebhook[wid]++
	if !ev.Data.ReceivedAt.IsZero() {
		s.lat = append(s.lat, sample{at: ev.Data.ReceivedAt, lat: now.Sub(ev.Data.ReceivedAt)})
	}
	s.changed = now
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Delivered returns how many times the event with CloudEvents id was delivered.
func (s *Sink) Delivered(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byEvent[id]
}

// Counts returns successful deliveries, distinct events, 503s sent and bad signatures.
func (s *Sink) Counts() (deliveries, distinct, refused, badSig int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.byWebhook {
		deliveries += n
	}
	return deliveries, len(s.byEvent), s.refused, s.badSig
}

// Latencies returns the sorted sink latencies of events received by the gateway in [from, to).
func (s *Sink) Latencies(from, to time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return window(s.lat, from, to)
}
