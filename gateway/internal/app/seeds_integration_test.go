package app_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/auth"
)

// expectedKeys is the record key each seed must get (read by hand from the seeds).
var expectedKeys = map[string]string{
	"kiriminaja/express-finished.json":        "X",
	"kiriminaja/express-processed.json":       "X",
	"kiriminaja/express-return-finished.json": "OID-40592020",
	"kiriminaja/express-returned.json":        "X",
	"kiriminaja/express-shipped.json":         "X",
	"kiriminaja/express-update-instant.json":  "NBL2-1704870212382",
	"kiriminaja/instant-canceled.json":        "BDI-1754377476085",
	"kiriminaja/instant-finished.json":        "BDI-1754377171060",
	"kiriminaja/instant-shipped.json":         "BDI-1754377171060",
	"dash/allocating.json":                    "DE-1735308506306",
	"dash/cancelled.json":                     "DE-1735308506306",
	"dash/completed.json":                     "DE-1735308506306",
	"dash/failed.json":                        "DE-1735308506306",
	"dash/in-delivery.json":                   "DE-1735308506306",
	"dash/pending-delivery.json":              "DE-1747913656208",
	"dash/pending-pickup.json":                "DE-1735308506306",
	"dash/picking-up.json":                    "DE-1735308506306",
	"dash/queueing.json":                      "DE-1735308506306",
	"komerce/request-curl.json":               "{{ order.no }}",
	"komerce/request-php.json":                "{{ order_no }}",
	"sendstack/order-new.json":                "SH1P9A",
}

var expectedVariant = map[string]string{
	"kiriminaja": auth.VariantBearer, "dash": auth.VariantHeader, "komerce": auth.VariantURLToken,
}

type sent struct {
	fixture, provider, variant string
	body                       []byte
}

func TestIntegrationSeedsReachRawTopicByteExact(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 3)
	gw := startGateway(t, testEnv(k.Brokers, topic, t.TempDir()))

	files, err := filepath.Glob(filepath.Join(fixtureDir, "*", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(expectedKeys), "every fixture needs an expected key")

	want := map[string]sent{}
	for i, f := range files {
		rel, _ := filepath.Rel(fixtureDir, f)
		rel = filepath.ToSlash(rel)
		provider := strings.Split(rel, "/")[0]
		body, err := os.ReadFile(f)
		require.NoError(t, err)
		variants := []string{expectedVariant[provider]}
		if provider == "sendstack" {
			variants = []string{auth.VariantHMACWebhookID, auth.VariantHMACWebhookIDRaw, auth.VariantHMACBody}
		}
		for j, v := range variants {
			path, hdr := credentials(provider, body, v)
			method := http.MethodPost
			if provider == "komerce" && i%2 == 0 {
				method = http.MethodPut // Komerce documents PUT and POST
				path = "/webhooks/komerce?token=" + komerceToken
			}
			if hdr == nil {
				hdr = map[string]string{}
			}
			id := fmt.Sprintf("seed-%d-%d", i, j)
			hdr["X-Request-Id"] = id
			res := post(t, method, gw.url+path, body, hdr)
			require.Equal(t, http.StatusOK, res.Status, "%s: %v", rel, res.Body)
			assert.Equal(t, id, res.Header.Get("X-Request-Id"))
			assert.Equal(t, "kafka", res.Body["durable"])
			want[id] = sent{fixture: rel, provider: provider, variant: v, body: body}
		}
	}

	msgs := k.ReadAll(t, topic, len(want), 30*time.Second)
	require.Len(t, msgs, len(want))
	got := byRequestID(msgs)
	for id, s := range want {
		require.Len(t, got[id], 1, "request %s (%s) on the topic once", id, s.fixture)
		m := got[id][0]
		assert.True(t, bytes.Equal(s.body, m.Value), "%s: value byte-exact", s.fixture)
		assert.Equal(t, expectedKeys[s.fixture], string(m.Key), "%s: key", s.fixture)
		hv := func(k string) string { v, _ := header(m, k); return v }
		assert.Equal(t, s.provider, hv("provider"))
		assert.Equal(t, s.variant, hv("auth"), s.fixture)
		assert.Equal(t, "application/json", hv("content_type"))
		assert.Equal(t, "courierhook-test", hv("http.user-agent"))
		ts, err := time.Parse(time.RFC3339Nano, hv("received_at"))
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), ts, 5*time.Minute)
		assert.Equal(t, "UTC", ts.Location().String())
		for _, h := range m.Headers {
			lk := strings.ToLower(h.Key)
			assert.NotContains(t, lk, "authorization")
			assert.NotContains(t, lk, "signature")
			assert.NotEqual(t, "spooled", lk)
			assert.NotContains(t, string(h.Value), kjKey)
		}
	}
}

func TestIntegrationInvalidAuthRefusedAndNotPublished(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 1)
	gw := startGateway(t, testEnv(k.Brokers, topic, t.TempDir()))
	ss := readFixture(t, "sendstack/order-new.json")
	kj := readFixture(t, "kiriminaja/instant-shipped.json")
	dash := readFixture(t, "dash/completed.json")
	kom := readFixture(t, "komerce/request-curl.json")
	cases := map[string]struct {
		method, path string
		body         []byte
		hdr          map[string]string
	}{
		"kiriminaja no header":      {http.MethodPost, "/webhooks/kiriminaja", kj, nil},
		"kiriminaja wrong key":      {http.MethodPost, "/webhooks/kiriminaja", kj, map[string]string{"Authorization": "Bearer nope"}},
		"kiriminaja basic scheme":   {http.MethodPost, "/webhooks/kiriminaja", kj, map[string]string{"Authorization": "Basic " + kjKey}},
		"dash missing header":       {http.MethodPost, "/webhooks/dash", dash, nil},
		"dash wrong value":          {http.MethodPost, "/webhooks/dash", dash, map[string]string{dashHeader: "x"}},
		"komerce no token":          {http.MethodPut, "/webhooks/komerce", kom, nil},
		"komerce wrong path token":  {http.MethodPut, "/webhooks/komerce/wrong", kom, nil},
		"komerce wrong query token": {http.MethodPost, "/webhooks/komerce?token=wrong", kom, nil},
		"sendstack no signature":    {http.MethodPost, "/webhooks/sendstack", ss, nil},
		"sendstack wrong secret":    {http.MethodPost, "/webhooks/sendstack", ss, map[string]string{"X-Sendstack-Signature": auth.Sign("other", ss)}},
		"sendstack not hex":         {http.MethodPost, "/webhooks/sendstack", ss, map[string]string{"X-Sendstack-Signature": "zz"}},
		"sendstack body tampered":   {http.MethodPost, "/webhooks/sendstack", append([]byte(" "), ss...), map[string]string{"X-Sendstack-Signature": auth.Sign(sendstackSecret, ss)}},
	}
	for name, c := range cases {
		res := post(t, c.method, gw.url+c.path, c.body, c.hdr)
		assert.Equal(t, http.StatusUnauthorized, res.Status, name)
		assert.Equal(t, "unauthorized", res.Body["error"], name)
		assert.NotEmpty(t, res.Body["request_id"], name)
	}
	// A valid marker after the refused ones: it must be the only record.
	path, hdr := credentials("dash", dash, "")
	hdr["X-Request-Id"] = "marker"
	require.Equal(t, http.StatusOK, post(t, http.MethodPost, gw.url+path, dash, hdr).Status)
	msgs := k.ReadAll(t, topic, 1, 20*time.Second)
	require.Len(t, msgs, 1)
	id, _ := header(msgs[0], "request_id")
	assert.Equal(t, "marker", id)
	metrics := scrape(t, gw.ops)
	assert.Contains(t, metrics, `gateway_auth_failures_total{provider="sendstack",reason="mismatch"} 3`)
	assert.Contains(t, metrics, `gateway_auth_failures_total{provider="kiriminaja",reason="missing"} 1`)
}

func TestIntegrationBadRequests(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 1)
	gw := startGateway(t, testEnv(k.Brokers, topic, t.TempDir()))
	kj := readFixture(t, "kiriminaja/instant-shipped.json")
	_, kjAuth := credentials("kiriminaja", kj, "")
	big := []byte(`{"method":"x","data":"` + strings.Repeat("a", 70000) + `"}`)
	cases := map[string]struct {
		method, path string
		body         []byte
		hdr          map[string]string
		status       int
	}{
		"unknown provider":        {http.MethodPost, "/webhooks/nosuch", kj, kjAuth, http.StatusNotFound},
		"unknown path":            {http.MethodPost, "/other", kj, kjAuth, http.StatusNotFound},
		"GET kiriminaja":          {http.MethodGet, "/webhooks/kiriminaja", nil, kjAuth, http.StatusMethodNotAllowed},
		"PUT dash":                {http.MethodPut, "/webhooks/dash", kj, nil, http.StatusMethodNotAllowed},
		"DELETE komerce":          {http.MethodDelete, "/webhooks/komerce/" + komerceToken, nil, nil, http.StatusMethodNotAllowed},
		"body over limit":         {http.MethodPost, "/webhooks/kiriminaja", big, kjAuth, http.StatusRequestEntityTooLarge},
		"invalid json":            {http.MethodPost, "/webhooks/kiriminaja", []byte(`{"method":`), kjAuth, http.StatusBadRequest},
		"empty body":              {http.MethodPost, "/webhooks/kiriminaja", nil, kjAuth, http.StatusBadRequest},
		"unsupported encoding":    {http.MethodPost, "/webhooks/kiriminaja", kj, merge(kjAuth, map[string]string{"Content-Encoding": "br"}), http.StatusUnsupportedMediaType},
		"accept-encoding gzip ok": {http.MethodPost, "/webhooks/kiriminaja", kj, merge(kjAuth, map[string]string{"Accept-Encoding": "gzip"}), http.StatusOK},
	}
	for name, c := range cases {
		res := post(t, c.method, gw.url+c.path, c.body, c.hdr)
		assert.Equal(t, c.status, res.Status, name)
		if c.status != http.StatusOK {
			assert.NotEmpty(t, res.Body["error"], name)
			assert.NotEmpty(t, res.Body["request_id"], name)
			assert.Equal(t, res.Header.Get("X-Request-Id"), res.Body["request_id"], name)
		}
	}
	// A gzip-encoded body is decoded; the decoded JSON is the record value.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(kj)
	require.NoError(t, zw.Close())
	res := post(t, http.MethodPost, gw.url+"/webhooks/kiriminaja", zb.Bytes(), merge(kjAuth, map[string]string{"Content-Encoding": "gzip", "X-Request-Id": "gz"}))
	require.Equal(t, http.StatusOK, res.Status)
	msgs := k.ReadAll(t, topic, 2, 20*time.Second)
	require.Len(t, msgs, 2) // the Accept-Encoding case and the gzip case
	got := byRequestID(msgs)
	require.Len(t, got["gz"], 1)
	assert.Equal(t, kj, got["gz"][0].Value)
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func scrape(t *testing.T, ops string) string {
	t.Helper()
	res, err := http.Get(ops + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(res.Body)
	require.NoError(t, err)
	return b.String()
}
