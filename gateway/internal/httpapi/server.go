package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/gateway/internal/auth"
	"github.com/courierhook/pipeline/gateway/internal/metrics"
	"github.com/courierhook/pipeline/gateway/internal/provider"
	"github.com/courierhook/pipeline/schemas"
)

// Config tunes the handler.
type Config struct {
	// MaxBodyBytes is the body limit (after gzip decoding); larger bodies get 413.
	MaxBodyBytes int64
	// RetryAfter is sent with 503 when the spool is full.
	RetryAfter time.Duration
	// BodyReadTimeout bounds reading the body, from the moment the handler
	// starts reading it (the server's ReadHeaderTimeout covers the headers). A
	// client trickling its body is cut off after it (400). 0 leaves only the
	// server's own ReadTimeout.
	BodyReadTimeout time.Duration
	// TrustedProxies says when X-Forwarded-For names the client (source
	// allowlists match that address); the zero value trusts no proxy.
	TrustedProxies auth.TrustedProxies
}

// HeaderRequestID is the response (and accepted request) header carrying the request id.
const HeaderRequestID = "X-Request-Id"

// copiedHeaders are request headers copied into the record as "http.<name>".
// Authorization and signature headers are never copied.
var copiedHeaders = []string{"User-Agent"}

// maxHeaderValue bounds every request header value copied into the record
// (content_type, http.user-agent): a client controls them, Kafka stores them
// with every record.
const maxHeaderValue = 256

// initialBodyBuffer is the most the handler allocates for a body before its
// bytes arrive, whatever Content-Length claims: the buffer then grows with
// what is actually read. Pre-sizing from Content-Length let unauthenticated
// clients reserve MaxBodyBytes each by sending one byte (issue 13).
const initialBodyBuffer = 16 << 10

type handler struct {
	providers map[string]*provider.Provider
	pub       Publisher
	cfg       Config
	m         *metrics.Metrics
	log       *zap.Logger
}

// New returns the echo instance serving the webhooks. Server timeouts are the
// caller's (app) business.
func New(providers map[string]*provider.Provider, pub Publisher, cfg Config, m *metrics.Metrics, log *zap.Logger) *echo.Echo {
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 30 * time.Second
	}
	h := &handler{providers: providers, pub: pub, cfg: cfg, m: m, log: log}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = h.errorHandler
	e.Use(requestID, h.recoverer)
	e.Any("/webhooks/:provider", h.webhook)
	e.Any("/webhooks/:provider/:token", h.webhook)
	return e
}

// requestID honours a sane incoming X-Request-Id and otherwise makes one; it is
// echoed in the response header and carried in the record.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(HeaderRequestID)
		if !saneID(id) {
			id = uuid.NewString()
		}
		c.Set("request_id", id)
		c.Response().Header().Set(HeaderRequestID, id)
		return next(c)
	}
}

// saneID accepts 1..64 characters of [A-Za-z0-9._:-], starting alphanumeric.
func saneID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-')) {
			return false
		}
	}
	return true
}

func rid(c echo.Context) string {
	s, _ := c.Get("request_id").(string)
	return s
}

type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

func fail(c echo.Context, status int, msg string) error {
	return c.JSON(status, errorBody{Error: msg, RequestID: rid(c)})
}

// recoverer turns a panic into a 500 and a log line instead of a dead connection.
func (h *handler) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				h.log.Error("panic in handler", zap.Any("panic", r), zap.String("request_id", rid(c)))
				err = fail(c, http.StatusInternalServerError, "internal error")
			}
		}()
		return next(c)
	}
}

// errorHandler renders echo's own errors (no route: 404; router 405) as JSON.
func (h *handler) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		msg = strings.ToLower(http.StatusText(status))
	} else {
		h.log.Error("request failed", zap.String("request_id", rid(c)), zap.Error(err))
	}
	if status == http.StatusNotFound {
		h.m.Requests.WithLabelValues("unknown", "not_found").Inc()
	}
	_ = fail(c, status, msg)
}

func (h *handler) webhook(c echo.Context) error {
	start := time.Now()
	req := c.Request()
	id := rid(c)
	p, ok := h.providers[c.Param("provider")]
	if !ok {
		h.m.Requests.WithLabelValues("unknown", "not_found").Inc()
		return fail(c, http.StatusNotFound, "unknown provider")
	}
	if !p.Allows(req.Method) {
		h.m.Requests.WithLabelValues(p.Name, "method_not_allowed").Inc()
		c.Response().Header().Set("Allow", strings.Join(p.Methods, ", "))
		return fail(c, http.StatusMethodNotAllowed, "method not allowed")
	}
	token := c.Param("token")
	if token == "" {
		token = c.QueryParam("token")
	}
	ar := &auth.Request{Header: req.Header, Token: token,
		RemoteIP: h.cfg.TrustedProxies.ClientIP(auth.RemoteAddr(req.RemoteAddr), req.Header.Values("X-Forwarded-For"))}
	// Header, URL and source checks run before a byte of the body is read, so
	// a request without credentials costs no body buffer.
	match, err := p.Head.Verify(ar)
	if err != nil {
		return h.refuse(c, p, err)
	}
	body, status, msg := h.readBody(c)
	if status != 0 {
		outcome := "too_large"
		if status != http.StatusRequestEntityTooLarge {
			outcome = "bad_body"
		}
		h.m.Requests.WithLabelValues(p.Name, outcome).Inc()
		return fail(c, status, msg)
	}
	if p.Body != nil {
		ar.Body = body
		bm, err := p.Body.Verify(ar)
		if err != nil {
			return h.refuse(c, p, err)
		}
		match = auth.Join(bm, match)
	}
	if match.Variant == "" {
		match.Variant = auth.VariantNone
	}
	if p.JSON && !json.Valid(body) {
		h.m.Requests.WithLabelValues(p.Name, "bad_json").Inc()
		return fail(c, http.StatusBadRequest, "body is not valid JSON")
	}
	h.m.AuthVariant.WithLabelValues(p.Name, match.Variant).Inc()
	if match.Secret != "" {
		h.m.AuthSecret.WithLabelValues(p.Name, match.Secret).Inc()
	}

	rec := h.record(p, req, body, match.Variant, id, start)
	path, err := h.pub.Publish(req.Context(), rec)
	if err != nil {
		if errors.Is(err, ErrSpoolFull) {
			h.m.Requests.WithLabelValues(p.Name, "spool_full").Inc()
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter.Seconds())))
			h.log.Error("kafka unavailable and spool full; refusing webhook", zap.String("provider", p.Name), zap.String("request_id", id))
			return fail(c, http.StatusServiceUnavailable, "temporarily unavailable")
		}
		h.m.Requests.WithLabelValues(p.Name, "error").Inc()
		h.log.Error("webhook not durable", zap.String("provider", p.Name), zap.String("request_id", id), zap.Error(err))
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter.Seconds())))
		return fail(c, http.StatusServiceUnavailable, "temporarily unavailable")
	}
	h.m.Requests.WithLabelValues(p.Name, "accepted").Inc()
	h.m.AckLatency.WithLabelValues(string(path)).Observe(time.Since(start).Seconds())
	return ack(c, id, string(path))
}

// ack answers 200 with ackBody, as c.JSON would write it (same bytes, newline
// included) but without its encoder for the common request id, which needs no
// escaping (TestAck_sameAsEchoJSON): every accepted webhook is answered here.
func ack(c echo.Context, requestID, durable string) error {
	if !plainJSONString(requestID) || !plainJSONString(durable) {
		return c.JSON(http.StatusOK, ackBody{Status: "accepted", RequestID: requestID, Durable: durable})
	}
	b := make([]byte, 0, 64+len(requestID)+len(durable))
	b = append(b, `{"status":"accepted","request_id":"`...)
	b = append(b, requestID...)
	b = append(b, `","durable":"`...)
	b = append(b, durable...)
	b = append(b, "\"}\n"...)
	return c.JSONBlob(http.StatusOK, b)
}

// plainJSONString reports whether s goes into a JSON string as it is: ASCII
// letters, digits and "-_.:/" only (encoding/json escapes none of them).
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-_.:/", ch) >= 0) {
			return false
		}
	}
	return true
}

// refuse answers 401 and counts the reason; the credential is never logged.
func (h *handler) refuse(c echo.Context, p *provider.Provider, err error) error {
	reason := authReason(err)
	h.m.Requests.WithLabelValues(p.Name, "unauthorized").Inc()
	h.m.AuthFailures.WithLabelValues(p.Name, reason).Inc()
	h.log.Info("webhook refused", zap.String("provider", p.Name), zap.String("request_id", rid(c)), zap.String("reason", reason))
	return fail(c, http.StatusUnauthorized, "unauthorized")
}

type ackBody struct {
	Status    string `json:"status"`
	RequestID string `json:"request_id"`
	Durable   string `json:"durable"`
}

// record builds the Kafka record: the body byte-exact as value, the key read
// cheaply (else the provider name), metadata in headers.
func (h *handler) record(p *provider.Provider, req *http.Request, body []byte, variant, id string, at time.Time) kafka.Message {
	key := p.Key(body)
	if key == "" {
		key = p.Name
	}
	hdrs := make([]kafka.Header, 0, 5+len(copiedHeaders))
	hdrs = append(hdrs,
		kafka.Header{Key: schemas.HeaderProvider, Value: []byte(p.Name)},
		kafka.Header{Key: schemas.HeaderReceivedAt, Value: []byte(at.UTC().Format(time.RFC3339Nano))},
		kafka.Header{Key: schemas.HeaderRequestID, Value: []byte(id)},
		kafka.Header{Key: schemas.HeaderContentType, Value: []byte(cut(req.Header.Get("Content-Type")))},
		kafka.Header{Key: schemas.HeaderAuth, Value: []byte(variant)},
	)
	for _, name := range copiedHeaders {
		if v := req.Header.Get(name); v != "" {
			hdrs = append(hdrs, kafka.Header{Key: schemas.HeaderHTTPPrefix + strings.ToLower(name), Value: []byte(cut(v))})
		}
	}
	return kafka.Message{Key: []byte(key), Value: body, Headers: hdrs}
}

// cut bounds a client-supplied header value to maxHeaderValue bytes.
func cut(v string) string {
	if len(v) > maxHeaderValue {
		return v[:maxHeaderValue]
	}
	return v
}

// readBody reads the body within the limit and BodyReadTimeout. A gzip
// Content-Encoding is decoded (the limit applies to the decoded bytes, so a
// zip bomb stops at the limit) and the decoded JSON is what gets published.
// The buffer starts at most initialBodyBuffer and grows as bytes arrive.
// status is 0 on success.
func (h *handler) readBody(c echo.Context) (body []byte, status int, msg string) {
	req := c.Request()
	limit := h.cfg.MaxBodyBytes
	if req.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, "body too large"
	}
	if h.cfg.BodyReadTimeout > 0 {
		// Errors only where unsupported (test recorders). The deadline is
		// cleared once the whole body is in: net/http's background read on the
		// idle connection would otherwise hit it while the handler waits for
		// Kafka, and cancel the request's context. On a failed read it stays,
		// so net/http's discard of the unread body ends at once too.
		rc := http.NewResponseController(c.Response())
		if rc.SetReadDeadline(time.Now().Add(h.cfg.BodyReadTimeout)) == nil {
			defer func() {
				if status == 0 {
					_ = rc.SetReadDeadline(time.Time{})
				}
			}()
		}
	}
	var r io.Reader = req.Body
	switch enc := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(io.LimitReader(req.Body, limit+1))
		if err != nil {
			return nil, http.StatusBadRequest, "invalid gzip body"
		}
		defer zr.Close()
		r = zr
	default:
		return nil, http.StatusUnsupportedMediaType, "unsupported content encoding"
	}
	size := 512
	if req.ContentLength > 0 {
		size = int(min(req.ContentLength+1, initialBodyBuffer))
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, http.StatusBadRequest, "reading body failed"
	}
	if n > limit {
		return nil, http.StatusRequestEntityTooLarge, "body too large"
	}
	return buf.Bytes(), 0, ""
}

func authReason(err error) string {
	switch {
	case errors.Is(err, auth.ErrNotConfigured):
		return "not_configured"
	case errors.Is(err, auth.ErrMissingCredential):
		return "missing"
	case errors.Is(err, auth.ErrSourceIP):
		return "source_ip"
	case errors.Is(err, auth.ErrReplay):
		return "replay"
	default:
		return "mismatch"
	}
}
