package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/auth"
	"github.com/courierhook/pipeline/gateway/internal/httpapi"
	"github.com/courierhook/pipeline/gateway/internal/metrics"
	"github.com/courierhook/pipeline/gateway/internal/provider"
)

// Finding (issue 13, low): Content-Type was copied whole into a Kafka header.
func TestWebhook_ContentTypeIsCut(t *testing.T) {
	t.Parallel()
	pub := &stubPublisher{path: httpapi.PathKafka}
	h := newServer(t, pub)
	ct := "application/json; x=" + strings.Repeat("y", 10_000)
	rec := do(h, http.MethodPost, "/webhooks/dash", `{"deliveryID":"D"}`, map[string]string{"X-T": "v", "Content-Type": ct, "User-Agent": ct})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Len(t, pub.got, 1)
	for _, hd := range pub.got[0].Headers {
		assert.LessOrEqual(t, len(hd.Value), 256, hd.Key)
		if hd.Key == "content_type" {
			assert.Equal(t, ct[:256], string(hd.Value))
		}
	}
}

// countingBody records whether the handler read from it.
type countingBody struct {
	r    io.Reader
	read atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read.Add(int64(n))
	return n, err
}

// Finding (issue 13, medium): header/URL credentials are checked before a byte
// of the body is read; an HMAC provider still reads, then checks.
func TestWebhook_HeaderAuthBeforeBody(t *testing.T) {
	t.Parallel()
	pub := &stubPublisher{path: httpapi.PathKafka}
	h := newServerWith(t, pub, map[string]provider.Secrets{
		"dash":      {AuthHeader: "X-T", AuthValue: provider.SecretList{"v"}},
		"sendstack": {AppSecret: provider.SecretList{"s"}},
	}, httpapi.Config{MaxBodyBytes: 1 << 20}, prometheus.NewRegistry())
	for name, c := range map[string]struct {
		path     string
		hdr      map[string]string
		status   int
		readBody bool
	}{
		"dash no credential":       {"/webhooks/dash", nil, 401, false},
		"dash wrong credential":    {"/webhooks/dash", map[string]string{"X-T": "w"}, 401, false},
		"komerce not configured":   {"/webhooks/komerce", nil, 401, false},
		"dash good credential":     {"/webhooks/dash", map[string]string{"X-T": "v"}, 200, true},
		"sendstack bad signature":  {"/webhooks/sendstack", map[string]string{"X-Sendstack-Signature": strings.Repeat("00", 32)}, 401, true},
		"sendstack good signature": {"/webhooks/sendstack", map[string]string{"X-Sendstack-Signature": auth.Sign("s", []byte(`{"deliveryID":"D"}`))}, 200, true},
	} {
		body := &countingBody{r: strings.NewReader(`{"deliveryID":"D"}`)}
		req := httptest.NewRequest(http.MethodPost, name2path(c.path), body)
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, c.status, rec.Code, name)
		assert.Equal(t, c.readBody, body.read.Load() > 0, "%s: body read", name)
	}
}

func name2path(p string) string { return p }

// Finding (issue 13, medium): 300 unauthenticated connections, each sending
// its headers (Content-Length at the limit) and one byte, raised the heap from
// 6 MB to 165 MB, because the body buffer was sized from Content-Length before
// auth. Now a header-auth provider refuses before reading and an HMAC provider
// starts with at most 16 KiB. Half the clients target each.
func TestWebhook_SlowUnauthenticatedClientsHoldLittleMemory(t *testing.T) {
	const clients = 300
	const maxBody = 512 << 10
	h := newServerWith(t, &stubPublisher{path: httpapi.PathKafka}, map[string]provider.Secrets{
		"dash":      {AuthHeader: "X-T", AuthValue: provider.SecretList{"v"}},
		"sendstack": {AppSecret: provider.SecretList{"s"}},
	}, httpapi.Config{MaxBodyBytes: maxBody, BodyReadTimeout: time.Minute}, prometheus.NewRegistry())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	counted := &countingListener{Listener: ln}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(counted) }()
	t.Cleanup(func() { _ = srv.Close() })

	base := liveHeap()
	conns := make([]net.Conn, 0, clients)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for i := range clients {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		conns = append(conns, c)
		path, hdr := "/webhooks/dash", "X-T: wrong"
		if i%2 == 1 {
			path, hdr = "/webhooks/sendstack", "X-Sendstack-Signature: "+strings.Repeat("00", 32)
		}
		_, err = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n%s\r\nContent-Length: %d\r\n\r\n{", path, hdr, maxBody)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return counted.n.Load() == clients }, 20*time.Second, 10*time.Millisecond, "every connection accepted")
	// Handlers start reading right after accepting; sample the live heap for a
	// while and keep the peak.
	var peak uint64
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		peak = max(peak, liveHeap())
	}
	growth := int64(peak) - int64(base)
	t.Logf("live heap %d KiB before, peak %d KiB with %d slow clients (growth %d KiB)", base>>10, peak>>10, clients, growth>>10)
	// The old code held clients/2*... = 300 x 512 KiB = 150 MiB here.
	assert.Less(t, growth, int64(24<<20), "heap growth with %d slow unauthenticated clients", clients)
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// Finding (issue 13, medium): a client trickling its body is cut off after
// BodyReadTimeout, not the server's 30 s ReadTimeout.
func TestWebhook_BodyReadTimeout(t *testing.T) {
	t.Parallel()
	h := newServerWith(t, &stubPublisher{path: httpapi.PathKafka}, map[string]provider.Secrets{"dash": {AuthHeader: "X-T", AuthValue: provider.SecretList{"v"}}},
		httpapi.Config{MaxBodyBytes: 1024, BodyReadTimeout: 300 * time.Millisecond}, prometheus.NewRegistry())
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	start := time.Now()
	_, err = fmt.Fprintf(c, "POST /webhooks/dash HTTP/1.1\r\nHost: gw\r\nX-T: v\r\nContent-Length: 100\r\n\r\n{")
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, "the server answers instead of waiting for the body")
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// Finding (issue 13, low): behind an ingress every peer is the proxy. The
// allowlist matches the X-Forwarded-For client only when the peer is a
// trusted proxy.
func TestWebhook_TrustedProxyForwardedFor(t *testing.T) {
	t.Parallel()
	tp, err := auth.NewTrustedProxies([]string{"192.0.2.0/24"}) // httptest requests come from 192.0.2.1
	require.NoError(t, err)
	secrets := map[string]provider.Secrets{"dash": {AuthHeader: "X-T", AuthValue: provider.SecretList{"v"}, AllowCIDRs: []string{"203.0.113.0/24"}}}
	trusting := newServerWith(t, &stubPublisher{path: httpapi.PathKafka}, secrets, httpapi.Config{MaxBodyBytes: 1024, TrustedProxies: tp}, prometheus.NewRegistry())
	plain := newServerWith(t, &stubPublisher{path: httpapi.PathKafka}, secrets, httpapi.Config{MaxBodyBytes: 1024}, prometheus.NewRegistry())
	for name, c := range map[string]struct {
		h      http.Handler
		xff    string
		status int
	}{
		"trusted proxy, allowed client":     {trusting, "198.51.100.1, 203.0.113.5", 200},
		"trusted proxy, client spoofs left": {trusting, "203.0.113.5, 198.51.100.1", 401},
		"trusted proxy, no header":          {trusting, "", 401},
		"untrusted peer: header ignored":    {plain, "203.0.113.5", 401},
	} {
		hdr := map[string]string{"X-T": "v"}
		if c.xff != "" {
			hdr["X-Forwarded-For"] = c.xff
		}
		rec := do(c.h, http.MethodPost, "/webhooks/dash", `{"deliveryID":"D"}`, hdr)
		assert.Equal(t, c.status, rec.Code, name)
	}
}

// Rotation (issue 13 §3): the secret that matched is counted by index.
func TestWebhook_SecretIndexCounted(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := newServerWith(t, &stubPublisher{path: httpapi.PathKafka}, map[string]provider.Secrets{"dash": {AuthHeader: "X-T", AuthValue: provider.SecretList{"new", "old"}}},
		httpapi.Config{MaxBodyBytes: 1024}, reg)
	for _, v := range []string{"old", "new", "old"} {
		require.Equal(t, http.StatusOK, do(h, http.MethodPost, "/webhooks/dash", `{}`, map[string]string{"X-T": v}).Code)
	}
	out, err := testutil.GatherAndCount(reg, "gateway_auth_secret_total")
	require.NoError(t, err)
	assert.Equal(t, 2, out, "one series per secret index")
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "gateway_auth_secret_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "secret" {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	assert.Equal(t, map[string]float64{"0": 1, "1": 2}, got)
}

var _ = metrics.New
