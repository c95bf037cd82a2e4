// Package receiver is the one local signed-webhook endpoint of the deployments
// tools, standing in for a merchant: devrun's receiver (make run) and the e2e
// bench and chaos sink are both a Receiver.
//
// A Receiver verifies each delivery's Standard Webhooks signature (401 when it
// does not match), counts good deliveries per CloudEvents id and per webhook-id,
// records the gateway-receipt → receiver latency from the event's
// data.received_at, and logs each delivery when given a logger. SetFailing(true)
// injects failures: every request is answered 503 before anything is verified or
// counted (it counts as refused), so the dispatcher's retry tiers run.
package receiver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// DefaultPath is the URL path deliveries are expected on.
const DefaultPath = "/webhooks/shipments"

// Options configure New. The zero value listens on a free loopback port, at
// DefaultPath, without logging.
type Options struct {
	// Port on 127.0.0.1; 0 is a free port. When a non-zero port is taken, New
	// falls back to a free one and logs a warning.
	Port int
	// Path is the URL path URL reports (DefaultPath when empty). The receiver
	// answers on every path.
	Path string
	// Log receives one line per delivery (Info when the signature holds, Warn when
	// not); nil logs nothing.
	Log *zap.Logger
}

// Counts are the receiver's totals.
type Counts struct {
	// Deliveries answered 204 (signature verified).
	Deliveries int
	// Distinct CloudEvents ids among them.
	Distinct int
	// Refused: answered 503 while SetFailing was on.
	Refused int
	// BadSignature: answered 401.
	BadSignature int
}

// Receiver is a running endpoint. Its methods are safe for concurrent use.
type Receiver struct {
	srv     *http.Server
	ln      net.Listener
	path    string
	log     *zap.Logger
	key     []byte
	failing atomic.Bool

	mu        sync.Mutex
	byEvent   map[string]int
	byWebhook map[string]int
	lat       []sample
	refused   int
	badSig    int
	n         int64
}

// sample is one latency measurement, dated by the gateway receipt it starts at.
type sample struct {
	at  time.Time
	lat time.Duration
}

// New starts a receiver that verifies with secret ("whsec_<base64>").
func New(secret string, opts Options) (*Receiver, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)))
	if err != nil && opts.Port != 0 {
		log.Warn("webhook receiver port taken, using a free port", zap.Int("port", opts.Port), zap.Error(err))
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("starting webhook receiver: %w", err)
	}
	path := opts.Path
	if path == "" {
		path = DefaultPath
	}
	r := &Receiver{ln: ln, path: path, log: log, key: key, byEvent: map[string]int{}, byWebhook: map[string]int{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// URL is the endpoint to give the dispatcher.
func (r *Receiver) URL() string { return "http://" + r.ln.Addr().String() + r.path }

// SetFailing switches failure injection (503 to every request) on or off.
func (r *Receiver) SetFailing(on bool) { r.failing.Store(on) }

// Close stops the listener, waiting up to 2 s for requests in flight.
func (r *Receiver) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

// Delivered returns how many times the event with CloudEvents id was delivered.
func (r *Receiver) Delivered(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byEvent[id]
}

// Counts returns the totals so far.
func (r *Receiver) Counts() Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Counts{Distinct: len(r.byEvent), Refused: r.refused, BadSignature: r.badSig}
	for _, n := range r.byWebhook {
		c.Deliveries += n
	}
	return c
}

// Latencies returns, sorted, the latencies of delivered events the gateway
// received in [from, to).
func (r *Receiver) Latencies(from, to time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, s := range r.lat {
		if !s.at.Before(from) && s.at.Before(to) {
			out = append(out, s.lat)
		}
	}
	slices.Sort(out)
	return out
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	if r.failing.Load() {
		r.mu.Lock()
		r.refused++
		r.mu.Unlock()
		http.Error(w, "injected failure", http.StatusServiceUnavailable)
		return
	}
	wid := req.Header.Get("webhook-id")
	verr := verify(r.key, wid, req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), body)
	var ev struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Data    struct {
			Status     string    `json:"status"`
			SubStatus  string    `json:"sub_status"`
			ReceivedAt time.Time `json:"received_at"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &ev)
	now := time.Now()
	r.mu.Lock()
	r.n++
	n := r.n
	if verr != nil {
		r.badSig++
	} else {
		r.byEvent[ev.ID]++
		r.byWebhook[wid]++
		if !ev.Data.ReceivedAt.IsZero() {
			r.lat = append(r.lat, sample{at: ev.Data.ReceivedAt, lat: now.Sub(ev.Data.ReceivedAt)})
		}
	}
	r.mu.Unlock()
	if verr != nil {
		r.log.Warn("webhook receiver: bad signature", zap.Int64("n", n), zap.String("webhook_id", wid), zap.Error(verr))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.log.Info("webhook receiver: delivery (signature ok)", zap.Int64("n", n), zap.String("subject", ev.Subject),
		zap.String("status", ev.Data.Status), zap.String("sub_status", ev.Data.SubStatus), zap.String("webhook_id", wid))
	w.WriteHeader(http.StatusNoContent)
}
