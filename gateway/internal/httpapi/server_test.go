package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/httpapi"
	"github.com/courierhook/pipeline/gateway/internal/metrics"
	"github.com/courierhook/pipeline/gateway/internal/provider"
	"github.com/courierhook/pipeline/schemas"
)

// stubPublisher answers with a fixed path and error: the handler's contract with
// its Publisher, not a stand-in for Kafka.
type stubPublisher struct {
	path httpapi.Path
	err  error
	got  []kafka.Message
}

func (s *stubPublisher) Publish(_ context.Context, m kafka.Message) (httpapi.Path, error) {
	s.got = append(s.got, m)
	return s.path, s.err
}

func newServer(t *testing.T, pub httpapi.Publisher) http.Handler {
	t.Helper()
	return newServerWith(t, pub, map[string]provider.Secrets{"dash": {AuthHeader: "X-T", AuthValue: provider.SecretList{"v"}}},
		httpapi.Config{MaxBodyBytes: 1024}, prometheus.NewRegistry())
}

func newServerWith(t *testing.T, pub httpapi.Publisher, secrets map[string]provider.Secrets, cfg httpapi.Config, reg *prometheus.Registry) http.Handler {
	t.Helper()
	ps, err := provider.Build(secrets, nil)
	require.NoError(t, err)
	return httpapi.New(ps, pub, cfg, metrics.New(reg), nil)
}

func do(h http.Handler, method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWebhook_SpoolFullIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	h := newServer(t, &stubPublisher{path: httpapi.PathSpool, err: fmt.Errorf("x: %w", httpapi.ErrSpoolFull)})
	rec := do(h, http.MethodPost, "/webhooks/dash", `{"deliveryID":"D"}`, map[string]string{"X-T": "v"})
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "30", rec.Header().Get("Retry-After"))
	assert.Contains(t, rec.Body.String(), `"request_id"`)
}

func TestWebhook_RequestID(t *testing.T) {
	t.Parallel()
	pub := &stubPublisher{path: httpapi.PathKafka}
	h := newServer(t, pub)
	cases := map[string]struct {
		in   string
		keep bool
	}{
		"sane":        {"abc-123_x.y:z", true},
		"too long":    {strings.Repeat("a", 65), false},
		"bad chars":   {"a b<script>", false},
		"leading dot": {".abc", false},
		"empty":       {"", false},
	}
	for name, c := range cases {
		rec := do(h, http.MethodPost, "/webhooks/dash", `{"deliveryID":"D"}`, map[string]string{"X-T": "v", "X-Request-Id": c.in})
		require.Equal(t, http.StatusOK, rec.Code, name)
		got := rec.Header().Get("X-Request-Id")
		if c.keep {
			assert.Equal(t, c.in, got, name)
		} else {
			assert.NotEqual(t, c.in, got, name)
			assert.Len(t, got, 36, name)
		}
	}
	require.NotEmpty(t, pub.got)
	m := pub.got[0]
	assert.Equal(t, "D", string(m.Key))
	assert.Equal(t, `{"deliveryID":"D"}`, string(m.Value))
}

func TestWebhook_NotPublishedUnlessAllChecksPass(t *testing.T) {
	t.Parallel()
	pub := &stubPublisher{path: httpapi.PathKafka}
	h := newServer(t, pub)
	for name, c := range map[string]struct {
		method, path, body string
		hdr                map[string]string
		status             int
	}{
		"no auth":       {http.MethodPost, "/webhooks/dash", `{}`, nil, 401},
		"bad json":      {http.MethodPost, "/webhooks/dash", `{`, map[string]string{"X-T": "v"}, 400},
		"too large":     {http.MethodPost, "/webhooks/dash", `{"a":"` + strings.Repeat("x", 2000) + `"}`, map[string]string{"X-T": "v"}, 413},
		"komerce unset": {http.MethodPut, "/webhooks/komerce/x", `{}`, nil, 401},
		"bad gzip":      {http.MethodPost, "/webhooks/dash", `not gzip`, map[string]string{"X-T": "v", "Content-Encoding": "gzip"}, 400},
	} {
		rec := do(h, c.method, c.path, c.body, c.hdr)
		assert.Equal(t, c.status, rec.Code, name)
	}
	assert.Empty(t, pub.got)
}

// Every row of the provider table can be driven by its client side: a request
// built and signed by provider.NewRequest is accepted (200, published under
// that provider), and the same request with other secrets is refused. A row
// whose Sign is missing or does not match its Preset fails here.
func TestWebhook_EveryProviderAcceptsItsNewRequest(t *testing.T) {
	t.Parallel()
	good := provider.Secrets{APIKey: provider.SecretList{"key"}, AuthHeader: "X-Test-Auth", AuthValue: provider.SecretList{"value"},
		AppSecret: provider.SecretList{"app-secret"}, Token: provider.SecretList{"token"}}
	bad := provider.Secrets{APIKey: provider.SecretList{"other"}, AuthHeader: "X-Test-Auth", AuthValue: provider.SecretList{"other"},
		AppSecret: provider.SecretList{"other"}, Token: provider.SecretList{"other"}}
	configured := map[string]provider.Secrets{}
	for _, name := range provider.Names() {
		configured[name] = good
	}
	pub := &stubPublisher{path: httpapi.PathKafka}
	h := newServerWith(t, pub, configured, httpapi.Config{MaxBodyBytes: 1 << 20}, prometheus.NewRegistry())
	for _, name := range provider.Names() {
		body := []byte(`{"event":"test"}`)
		req, err := provider.NewRequest(t.Context(), "http://gateway.test", name, body, good)
		require.NoError(t, err, name)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", name, rec.Body.String())
		last := pub.got[len(pub.got)-1]
		assert.Contains(t, last.Headers, kafka.Header{Key: schemas.HeaderProvider, Value: []byte(name)}, name)

		req, err = provider.NewRequest(t.Context(), "http://gateway.test", name, body, bad)
		require.NoError(t, err, name)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "%s with the wrong secrets", name)
	}
	_, err := provider.NewRequest(t.Context(), "http://gateway.test", "nobody", nil, good)
	assert.ErrorIs(t, err, provider.ErrUnknownProvider)
}

// A gateway given the demo secrets accepts every provider's request built with
// them, and refuses it without them: the demo credentials are the table's.
func TestWebhook_EveryProviderAcceptsItsDemoRequest(t *testing.T) {
	t.Parallel()
	pub := &stubPublisher{path: httpapi.PathKafka}
	h := newServerWith(t, pub, provider.Demo(), httpapi.Config{MaxBodyBytes: 1 << 20}, prometheus.NewRegistry())
	for name, demo := range provider.Demo() {
		body := []byte(`{"event":"demo"}`)
		req, err := provider.NewRequest(t.Context(), "http://gateway.test", name, body, demo)
		require.NoError(t, err, name)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.Code, "%s: %s", name, rec.Body.String())

		req, err = provider.NewRequest(t.Context(), "http://gateway.test", name, body, provider.Secrets{})
		require.NoError(t, err, name)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "%s without secrets", name)
	}
}
