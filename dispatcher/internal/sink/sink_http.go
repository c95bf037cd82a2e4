package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// HeaderIdempotencyKey carries the idempotency id beside webhook-id, for receivers
// that follow the IETF Idempotency-Key draft instead of Standard Webhooks.
const HeaderIdempotencyKey = "Idempotency-Key"

// HTTPConfig configures an HTTP webhook sink.
type HTTPConfig struct {
	// URL receives a POST of the (redacted) canonical event JSON.
	URL string
	// Secrets are Standard Webhooks secrets ("whsec_<base64>"). Each adds one
	// "v1,<sig>" to webhook-signature, so a receiver can rotate its secret
	// without losing a delivery.
	Secrets []string
	// Headers are extra request headers. They cannot override the signature headers.
	Headers map[string]string
	// Redact lists field paths removed before signing.
	Redact []string
	// Client sends the requests; nil means a client that never follows redirects.
	Client *http.Client
	// Now is the clock for webhook-timestamp; nil means time.Now.
	Now func() time.Time
}

// HTTP posts canonical events signed per the Standard Webhooks specification
// (https://www.standardwebhooks.com): webhook-id is the idempotency id,
// webhook-timestamp the attempt time in Unix seconds, webhook-signature one
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per secret, space-separated.
type HTTP struct {
	cfg     HTTPConfig
	signers []*signer
	redact  *Redactor
	// static are the headers every request carries (cfg.Headers, Content-Type,
	// User-Agent), keys in canonical form; each request gets a copy.
	static http.Header
}

// Canonical forms of the per-delivery header names, so a request's headers
// are set without canonicalising (and allocating) them each time.
var (
	keyWebhookID        = http.CanonicalHeaderKey(standardwebhooks.HeaderWebhookID)
	keyWebhookTimestamp = http.CanonicalHeaderKey(standardwebhooks.HeaderWebhookTimestamp)
	keyWebhookSignature = http.CanonicalHeaderKey(standardwebhooks.HeaderWebhookSignature)
	keyIdempotency      = http.CanonicalHeaderKey(HeaderIdempotencyKey)
)

// NewHTTP returns an HTTP sink. It fails on a URL-less config or a bad secret.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("http sink: no url")
	}
	if len(cfg.Secrets) == 0 {
		return nil, fmt.Errorf("http sink: no signing secret")
	}
	s := &HTTP{cfg: cfg, redact: NewRedactor(cfg.Redact), static: http.Header{}}
	for i, sec := range cfg.Secrets {
		sg, err := newSigner(sec)
		if err != nil {
			return nil, fmt.Errorf("http sink: secret %d: %w", i, err)
		}
		s.signers = append(s.signers, sg)
	}
	for k, v := range cfg.Headers {
		s.static.Set(k, v)
	}
	s.static.Set("Content-Type", "application/json")
	s.static.Set("User-Agent", "courierhook-dispatcher")
	if s.cfg.Client == nil {
		s.cfg.Client = noRedirectClient()
	}
	if s.cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	return s, nil
}

func noRedirectClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Deliver makes one signed POST. ctx bounds the whole request.
func (s *HTTP) Deliver(ctx context.Context, d Delivery) error {
	body, err := s.redact.Apply(d.Body)
	if err != nil {
		return err
	}
	unix := s.cfg.Now().Unix()
	var sig []byte
	for i, sg := range s.signers {
		if i > 0 {
			sig = append(sig, ' ')
		}
		sig = sg.appendSignature(sig, d.ID, unix, body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("building request: %w", err))
	}
	h := make(http.Header, len(s.static)+4)
	for k, v := range s.static {
		h[k] = v // shared, never written: http.Client only reads a request's headers
	}
	h[keyWebhookID] = []string{d.ID}
	h[keyWebhookTimestamp] = []string{strconv.FormatInt(unix, 10)}
	h[keyWebhookSignature] = []string{string(sig)}
	h[keyIdempotency] = []string{d.ID}
	req.Header = h
	return post(s.cfg.Client, req)
}

func post(c *http.Client, req *http.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		// *url.Error's text holds the whole URL, and sink URLs carry secrets
		// (a chat webhook's token is its path, "${VAR}" may expand into a query).
		// The error text reaches logs and the retry/DLQ headers, so drop the URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("posting %s: %w", req.Method, err)
	}
	// Drain a little so the connection is reused; never read an unbounded body.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return classifyStatus(resp.StatusCode)
}
