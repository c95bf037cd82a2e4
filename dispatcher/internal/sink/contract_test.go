package sink_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/sink"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

const (
	secretOld = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretNew = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
)

// Sink is what every implementation offers.
type Sink interface {
	Deliver(ctx context.Context, d sink.Delivery) error
}

// received is what a destination saw, normalised across kinds.
type received struct {
	id   string // idempotency id as the destination got it
	body []byte // payload (chat: the rendered text)
}

// harness is one sink under test plus a view of its destination.
type harness struct {
	sink Sink
	// got returns what the destination received so far.
	got func(t *testing.T, n int) []received
	// fail makes the destination answer with this HTTP status (HTTP kinds only).
	fail func(code int)
	// hang makes the destination stall until the test ends.
	hang func()
}

// features switches suite cases off where they do not apply (G7).
type features struct {
	statusCodes bool // the destination answers with HTTP statuses
	hangs       bool // the destination can be made to hang
	rawBody     bool // the payload is the canonical event JSON
}

type suite struct {
	name     string
	features features
	build    func(t *testing.T, redact []string) harness
}

func testEvent() (sink.Delivery, shipment.Event) {
	ev := shipment.Event{ID: "ev-1", Subject: "dash:S1", Data: shipment.Data{
		Provider: "dash", ShipmentID: "S1", Status: shipment.StatusException, Reason: "parcel damaged",
		Destination: &shipment.Place{Name: "Siti", Phone: "+628123", Address: "Jl. Mawar 1", City: "Jakarta"},
		Courier:     &shipment.Courier{Company: "JNE", Name: "Budi", Phone: "+628999"},
	}}
	b, _ := json.Marshal(ev)
	return sink.Delivery{ID: sink.IdempotencyID(ev.ID, "s"), Key: []byte(ev.Subject), Body: b, Event: &ev, Attempt: 1}, ev
}

// httpDest is a local receiver recording requests.
type httpDest struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
	code int
	hang chan struct{}
}

func newHTTPDest(t *testing.T) (*httpDest, *httptest.Server) {
	d := &httpDest{code: 200, hang: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		code, hang := d.code, d.hang
		d.mu.Unlock()
		if code == -1 {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		d.mu.Lock()
		d.reqs, d.body = append(d.reqs, r), append(d.body, b)
		d.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(func() { close(d.hang); srv.Close() })
	return d, srv
}

func (d *httpDest) set(code int) { d.mu.Lock(); d.code = code; d.mu.Unlock() }

func suites() []suite {
	return []suite{
		{name: "http", features: features{statusCodes: true, hangs: true, rawBody: true}, build: func(t *testing.T, redact []string) harness {
			d, srv := newHTTPDest(t)
			s, err := sink.NewHTTP(sink.HTTPConfig{URL: srv.URL, Secrets: []string{secretOld, secretNew}, Redact: redact, Headers: map[string]string{"X-Extra": "1"}})
			require.NoError(t, err)
			return harness{sink: s, fail: d.set, hang: func() { d.set(-1) }, got: func(t *testing.T, _ int) []received {
				d.mu.Lock()
				defer d.mu.Unlock()
				var out []received
				for i, r := range d.reqs {
					// Both secrets verify: rotation works on either side.
					for _, sec := range []string{secretOld, secretNew} {
						wh, err := standardwebhooks.NewWebhook(sec)
						require.NoError(t, err)
						require.NoError(t, wh.Verify(d.body[i], r.Header), "signature for %s", sec)
					}
					assert.Equal(t, r.Header.Get("webhook-id"), r.Header.Get("Idempotency-Key"))
					assert.Equal(t, "1", r.Header.Get("X-Extra"))
					assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
					assert.Equal(t, "courierhook-dispatcher", r.Header.Get("User-Agent"))
					out = append(out, received{id: r.Header.Get("webhook-id"), body: d.body[i]})
				}
				return out
			}}
		}},
		{name: "chat", features: features{statusCodes: true, hangs: true}, build: func(t *testing.T, redact []string) harness {
			d, srv := newHTTPDest(t)
			s, err := sink.NewChat(sink.ChatConfig{URL: srv.URL, Redact: redact,
				Template: "{{.Data.Provider}} {{.Data.ShipmentID}} is {{.Data.Status}}: {{.Data.Reason}}{{with .Data.Courier}} {{.Name}}{{end}}"})
			require.NoError(t, err)
			return harness{sink: s, fail: d.set, hang: func() { d.set(-1) }, got: func(t *testing.T, _ int) []received {
				d.mu.Lock()
				defer d.mu.Unlock()
				var out []received
				for i, r := range d.reqs {
					var p struct{ Text string }
					require.NoError(t, json.Unmarshal(d.body[i], &p))
					out = append(out, received{id: r.Header.Get("Idempotency-Key"), body: []byte(p.Text)})
				}
				return out
			}}
		}},
		{name: "kafka", features: features{rawBody: true}, build: func(t *testing.T, redact []string) harness {
			k := testkit.Kafka(t)
			topic := k.Topic(t)
			w := broker.NewWriter(k.Config(), "", nil, broker.WriterOptions{})
			t.Cleanup(func() { _ = w.Close() })
			s, err := sink.NewKafka(w, topic, redact)
			require.NoError(t, err)
			return harness{sink: s, got: func(t *testing.T, n int) []received {
				var out []received
				for _, m := range k.ReadAll(t, topic, n, 10*time.Second) {
					assert.Equal(t, "dash:S1", string(m.Key), "canonical key kept")
					assert.Equal(t, schemas.ContentTypeCloudEvents, string(broker.Header(m, schemas.HeaderEventContentType)))
					assert.NotEmpty(t, broker.Header(m, schemas.HeaderEventID), "canonical headers kept downstream")
					assert.Equal(t, "dash", string(broker.Header(m, schemas.HeaderProvider)))
					out = append(out, received{id: string(broker.Header(m, sink.HeaderIdempotencyID)), body: m.Value})
				}
				return out
			}}
		}},
	}
}

// TestIntegrationSinkContract runs the one contract suite over every sink kind.
func TestIntegrationSinkContract(t *testing.T) {
	t.Parallel()
	for _, s := range suites() {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			t.Run("delivers_with_idempotency_id", func(t *testing.T) {
				t.Parallel()
				h := s.build(t, nil)
				d, _ := testEvent()
				deliverEventually(t, h.sink, d)
				got := h.got(t, 1)
				require.Len(t, got, 1)
				assert.Equal(t, d.ID, got[0].id)
				if s.features.rawBody {
					assert.JSONEq(t, string(d.Body), string(got[0].body))
				} else {
					assert.Equal(t, "dash S1 is exception: parcel damaged Budi", string(got[0].body))
				}
			})
			t.Run("redacts", func(t *testing.T) {
				t.Parallel()
				h := s.build(t, []string{"data.destination.phone", "data.destination.name", "data.destination.address",
					"data.courier.name", "data.courier.phone", "data.reason"})
				d, _ := testEvent()
				deliverEventually(t, h.sink, d)
				got := h.got(t, 1)
				require.Len(t, got, 1)
				for _, secret := range []string{"Siti", "+628123", "Mawar", "Budi", "+628999", "damaged"} {
					assert.NotContains(t, string(got[0].body), secret)
				}
				if s.features.rawBody {
					assert.Contains(t, string(got[0].body), "Jakarta", "unredacted fields stay")
				}
			})
			t.Run("times_out_retryable", func(t *testing.T) {
				t.Parallel()
				if !s.features.hangs {
					t.Log("feature off: destination cannot be made to hang")
					return
				}
				h := s.build(t, nil)
				h.hang()
				d, _ := testEvent()
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				defer cancel()
				err := h.sink.Deliver(ctx, d)
				require.Error(t, err)
				assert.False(t, sink.IsPermanent(err))
			})
			t.Run("classifies_statuses", func(t *testing.T) {
				t.Parallel()
				if !s.features.statusCodes {
					t.Log("feature off: destination has no HTTP statuses")
					return
				}
				h := s.build(t, nil)
				d, _ := testEvent()
				for code, permanent := range map[int]bool{400: true, 401: true, 404: true, 410: true, 408: false, 429: false, 500: false, 503: false} {
					h.fail(code)
					err := h.sink.Deliver(t.Context(), d)
					require.Error(t, err, "status %d", code)
					assert.Equal(t, permanent, sink.IsPermanent(err), "status %d", code)
				}
			})
		})
	}
}

func TestIdempotencyID_StablePerEventAndSink(t *testing.T) {
	a := sink.IdempotencyID("ev-1", "hook")
	assert.Equal(t, a, sink.IdempotencyID("ev-1", "hook"))
	assert.NotEqual(t, a, sink.IdempotencyID("ev-1", "other"))
	assert.NotEqual(t, a, sink.IdempotencyID("ev-2", "hook"))
}

// deliverEventually retries retryable errors: a topic created a moment ago may
// not have a leader yet.
func deliverEventually(t *testing.T, s Sink, d sink.Delivery) {
	t.Helper()
	var last error
	require.Eventually(t, func() bool {
		last = s.Deliver(t.Context(), d)
		require.False(t, sink.IsPermanent(last), "permanent error: %v", last)
		return last == nil
	}, 15*time.Second, 100*time.Millisecond, "last error: %v", last)
}
