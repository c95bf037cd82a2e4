package lookup

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Current is a shipment's current state as the lookup API shows it.
type Current struct {
	Status    string    `json:"status"`
	SubStatus string    `json:"sub_status,omitempty"`
	Terminal  bool      `json:"terminal"`
	EventID   string    `json:"event_id"`
	At        time.Time `json:"at"`
}

// StateReader reads a shipment's current state; nil, nil when it has none.
type StateReader interface {
	Current(ctx context.Context, subject string) (*Current, error)
}

// RawReader reads one raw record by its location (for ?include=raw).
type RawReader interface {
	Read(ctx context.Context, at Location) (kafka.Message, error)
}

// Dispatcher finds the dispatch outcomes of events (for ?include=dispatch). It
// returns an error wrapping ErrScanTooLarge, before scanning, when answering
// would read more than its bound.
type Dispatcher interface {
	Outcomes(ctx context.Context, events []Event) ([]Outcome, error)
}

// ErrScanTooLarge means a lookup would scan more records than allowed.
var ErrScanTooLarge = errors.New("lookup would scan too many records")

// ErrUnprotected means the API would be reachable beyond loopback without a token.
var ErrUnprotected = errors.New("lookup API on a non-loopback address needs a bearer token")

// HandlerConfig configures the HTTP API.
type HandlerConfig struct {
	// Token, when set, must be presented as "Authorization: Bearer <token>".
	Token string
	// Recent caps the events a shipment answer lists. Default 20.
	Recent int
	// Timeout bounds one request's Redis and Kafka work. Default 10 s.
	Timeout time.Duration
}

// Handler serves the read-only lookup API:
//
//	GET /v1/shipments/{provider}/{shipment_id}  current state and recent events
//	GET /v1/webhooks/{request_id}[?include=raw,dispatch]
//
// Answers are JSON; unknown ids answer 404, a missing or wrong token 401, a
// lookup that would scan too much 422, a failing dependency 503.
type Handler struct {
	cfg      HandlerConfig
	store    *Store
	states   StateReader
	raw      RawReader
	dispatch Dispatcher
	log      *zap.Logger
	mux      *http.ServeMux
}

// NewHandler returns the API. raw and dispatch may be nil (the includes then
// answer 501).
func NewHandler(cfg HandlerConfig, store *Store, states StateReader, raw RawReader, dispatch Dispatcher, log *zap.Logger) *Handler {
	if cfg.Recent <= 0 {
		cfg.Recent = 20
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if log == nil {
		log = zap.NewNop()
	}
	h := &Handler{cfg: cfg, store: store, states: states, raw: raw, dispatch: dispatch, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/shipments/{provider}/{shipment_id}", h.shipment)
	h.mux.HandleFunc("GET /v1/webhooks/{request_id}", h.webhook)
	return h
}

// Patterns are the mux patterns to mount the handler on.
var Patterns = []string{"/v1/shipments/", "/v1/webhooks/"}

// CheckExposure returns ErrUnprotected when addr (a listen address such as
// ":9091") is not loopback-only and token is empty.
func CheckExposure(addr, token string) error {
	if token != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return ErrUnprotected
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(h.cfg.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lookup"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// ShipmentAnswer is the answer of GET /v1/shipments/{provider}/{shipment_id}.
type ShipmentAnswer struct {
	Provider   string   `json:"provider"`
	ShipmentID string   `json:"shipment_id"`
	State      *Current `json:"state"`
	// Events are the most recent canonical events, newest first.
	Events []Event `json:"events"`
}

func (h *Handler) shipment(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	p, id := r.PathValue("provider"), r.PathValue("shipment_id")
	subject := p + ":" + id
	ans := ShipmentAnswer{Provider: p, ShipmentID: id}
	var err error
	if ans.Events, err = h.store.Recent(ctx, subject, h.cfg.Recent); err != nil {
		h.unavailable(w, "reading shipment index", err)
		return
	}
	if h.states != nil {
		if ans.State, err = h.states.Current(ctx, subject); err != nil {
			h.unavailable(w, "reading shipment state", err)
			return
		}
	}
	if ans.State == nil && len(ans.Events) == 0 {
		writeError(w, http.StatusNotFound, "no shipment "+subject+" in the state or the lookup index (never seen, or expired)")
		return
	}
	if ans.State != nil && ans.State.SubStatus == "" {
		for _, e := range ans.Events {
			if e.ID == ans.State.EventID {
				ans.State.SubStatus = e.SubStatus
				break
			}
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

// WebhookAnswer is the answer of GET /v1/webhooks/{request_id}.
type WebhookAnswer struct {
	*Webhook
	// RawBody is the webhook body, only with ?include=raw: it may hold personal data.
	RawBody json.RawMessage `json:"raw_body,omitempty"`
	// RawBodyText is the body when it is not JSON (?include=raw).
	RawBodyText string `json:"raw_body_text,omitempty"`
	// Dispatch are the dispatch outcomes, only with ?include=dispatch.
	Dispatch []Outcome `json:"dispatch,omitempty"`
	// DispatchNote says what an absent outcome means.
	DispatchNote string `json:"dispatch_note,omitempty"`
}

func (h *Handler) webhook(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	inc := includes(r)
	wh, err := h.store.Webhook(ctx, r.PathValue("request_id"))
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no webhook with this request id in the lookup index (never seen, or expired)")
		return
	}
	if err != nil {
		h.unavailable(w, "reading webhook index", err)
		return
	}
	ans := WebhookAnswer{Webhook: wh}
	if inc["raw"] {
		if h.raw == nil {
			writeError(w, http.StatusNotImplemented, "include=raw is not configured")
			return
		}
		m, err := h.raw.Read(ctx, wh.Raw)
		if err != nil {
			h.unavailable(w, "reading raw record", err)
			return
		}
		if json.Valid(m.Value) {
			ans.RawBody = m.Value
		} else {
			ans.RawBodyText = string(m.Value)
		}
	}
	if inc["dispatch"] {
		if h.dispatch == nil {
			writeError(w, http.StatusNotImplemented, "include=dispatch is not configured")
			return
		}
		out, err := h.dispatch.Outcomes(ctx, wh.Events)
		if errors.Is(err, ErrScanTooLarge) {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		if err != nil {
			h.unavailable(w, "scanning dispatch topics", err)
			return
		}
		ans.Dispatch = out
		ans.DispatchNote = DispatchNote
	}
	writeJSON(w, http.StatusOK, ans)
}

func includes(r *http.Request) map[string]bool {
	out := map[string]bool{}
	for _, v := range r.URL.Query()["include"] {
		for f := range strings.SplitSeq(v, ",") {
			out[strings.TrimSpace(f)] = true
		}
	}
	return out
}

func (h *Handler) unavailable(w http.ResponseWriter, what string, err error) {
	h.log.Warn("lookup failed", zap.String("step", what), zap.Error(err))
	writeError(w, http.StatusServiceUnavailable, what+" failed")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
