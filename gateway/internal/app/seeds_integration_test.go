package app_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/app"
	"github.com/courierhook/pipeline/gateway/internal/auth"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas/providers/seed"
)

// expectedKeys is the record key each seed must get (read by hand from the seeds).
var expectedKeys = map[string]string{
	"kiriminaja/express_finished_legacy":       "X",
	"kiriminaja/express_processed_short":       "X",
	"kiriminaja/express_return_finished":       "OID-40592020",
	"kiriminaja/express_returned_legacy":       "X",
	"kiriminaja/express_shipped_legacy":        "X",
	"kiriminaja/express_update_instant_cancel": "NBL2-1704870212382",
	"kiriminaja/instant_canceled":              "BDI-1754377476085",
	"kiriminaja/instant_finished":              "BDI-1754377171060",
	"kiriminaja/instant_shipped":               "BDI-1754377171060",
	"dash/express_allocating":                  "DE-1735308506306",
	"dash/express_cancelled":                   "DE-1735308506306",
	"dash/express_completed":                   "DE-1735308506306",
	"dash/express_failed":                      "DE-1735308506306",
	"dash/express_in_delivery":                 "DE-1735308506306",
	"dash/express_pending_delivery":            "DE-1747913656208",
	"dash/express_pending_pickup":              "DE-1735308506306",
	"dash/express_picking_up":                  "DE-1735308506306",
	"dash/express_queueing":                    "DE-1735308506306",
	"komerce/curl_template":                    "{{ order.no }}",
	"komerce/go_template":                      "{{ order.no }}",
	"komerce/php_template":                     "{{ order_no }}",
	"sendstack/order_new":                      "SH1P9A",
}

var expectedVariant = map[string]string{
	"kiriminaja": auth.VariantBearer, "dash": auth.VariantHeader, "komerce": auth.VariantURLToken,
}

type sent struct {
	fixture, provider, variant string
	body                       []byte
	durable                    string // the ack's "durable": kafka or spool
}

// TestIntegrationSeedsReachRawTopicByteExact posts every seed with valid auth
// and checks its record on the raw topic: value byte-exact, key, headers. The
// ack deadline is generous so that a loaded machine (every module's tests at
// once) does not push requests to the spool; if one still goes there, its
// record is checked the same way (plus the spooled header), so the test checks
// the record whichever durable path the ack reports.
func TestIntegrationSeedsReachRawTopicByteExact(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 3)
	env := testEnv(k.Brokers, topic, t.TempDir())
	env["GATEWAY_ACK_TIMEOUT"] = "30s"
	gw := startGateway(t, env)

	want := postSeeds(t, gw)
	checkSeedRecords(t, k, topic, want)
	direct := 0
	for _, s := range want {
		if s.durable == "kafka" {
			direct++
		}
	}
	t.Logf("acks: kafka=%d of %d", direct, len(want))
}

// TestIntegrationSeedsThroughSpoolByteExact is the same check for the spool
// path: Kafka is unreachable while the seeds are posted (every ack must say
// "spool"), then comes back, and the forwarder's records must be as byte-exact
// as direct ones.
func TestIntegrationSeedsThroughSpoolByteExact(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 3)
	fd := &faultDialer{}
	fd.set(true)
	env := testEnv(k.Brokers, topic, t.TempDir())
	env["GATEWAY_ACK_TIMEOUT"] = "500ms"
	gw := startGateway(t, env, app.WithKafkaTransport(&kafka.Transport{Dial: fd.Dial, MetadataTTL: 2 * time.Second}))

	want := postSeeds(t, gw)
	for id, s := range want {
		require.Equal(t, "spool", s.durable, "%s (%s): kafka is down", id, s.fixture)
	}
	fd.set(false)
	checkSeedRecords(t, k, topic, want)
}

// postSeeds posts every fixture with valid credentials (Sendstack once per
// signature variant; Komerce alternating PUT with a path token and POST with a
// query token) and returns what was sent by request id.
func postSeeds(t *testing.T, gw gateway) map[string]sent {
	t.Helper()
	seeds := seed.All()
	require.Len(t, seeds, len(expectedKeys), "every seed payload needs an expected key")

	want := map[string]sent{}
	for i, p := range seeds {
		rel, provider, body := p.Provider+"/"+p.Name, p.Provider, p.Body
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
			require.Contains(t, []string{"kafka", "spool"}, res.Body["durable"], rel)
			want[id] = sent{fixture: rel, provider: provider, variant: v, body: body, durable: res.Body["durable"]}
		}
	}
	return want
}

// checkSeedRecords reads the topic until every request id in want is there and
// checks each record. A direct (kafka) ack means exactly one record without
// the spooled header; a spool ack means spooled=true, and a second copy is
// allowed (a direct write that timed out may land as well: at-least-once).
func checkSeedRecords(t *testing.T, k *testkit.KafkaEnv, topic string, want map[string]sent) {
	t.Helper()
	got := byRequestID(readIDs(t, k, topic, len(want), 60*time.Second))
	for id, s := range want {
		require.NotEmpty(t, got[id], "request %s (%s) on the topic", id, s.fixture)
		if s.durable == "kafka" {
			require.Len(t, got[id], 1, "request %s (%s) on the topic once", id, s.fixture)
		}
		marked := 0
		for _, m := range got[id] {
			assert.True(t, bytes.Equal(s.body, m.Value), "%s: value byte-exact", s.fixture)
			assert.Equal(t, expectedKeys[s.fixture], string(m.Key), "%s: key", s.fixture)
			hv := func(k string) string { v, _ := header(m, k); return v }
			assert.Equal(t, s.provider, hv("provider"))
			assert.Equal(t, s.variant, hv("auth"), s.fixture)
			assert.Equal(t, "application/json", hv("content_type"))
			assert.Equal(t, "courierhook-test", hv("http.user-agent"))
			assert.Equal(t, id, hv("request_id"))
			ts, err := time.Parse(time.RFC3339Nano, hv("received_at"))
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now(), ts, 5*time.Minute)
			assert.Equal(t, "UTC", ts.Location().String())
			if v, ok := header(m, "spooled"); ok {
				assert.Equal(t, "true", v)
				marked++
			}
			for _, h := range m.Headers {
				lk := strings.ToLower(h.Key)
				assert.NotContains(t, lk, "authorization")
				assert.NotContains(t, lk, "signature")
				assert.NotContains(t, string(h.Value), kjKey)
				assert.NotContains(t, string(h.Value), sendstackSecret)
			}
		}
		if s.durable == "spool" {
			assert.Equal(t, 1, marked, "%s: the spooled copy carries spooled=true", s.fixture)
		} else {
			assert.Zero(t, marked, "%s: a direct record has no spooled header", s.fixture)
		}
	}
}

// readIDs reads the topic until it holds records of n distinct request ids
// (duplicates from the spool path do not count twice) or timeout passed.
func readIDs(t *testing.T, k *testkit.KafkaEnv, topic string, n int, timeout time.Duration) []kafka.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	want := n
	for {
		msgs := k.ReadAll(t, topic, want, time.Until(deadline))
		if len(byRequestID(msgs)) >= n || time.Now().After(deadline) {
			return msgs
		}
		want = len(msgs) + 1
	}
}

func TestIntegrationInvalidAuthRefusedAndNotPublished(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 1)
	gw := startGateway(t, testEnv(k.Brokers, topic, t.TempDir()))
	ss := readFixture(t, "sendstack/order_new")
	kj := readFixture(t, "kiriminaja/instant_shipped")
	dash := readFixture(t, "dash/express_completed")
	kom := readFixture(t, "komerce/curl_template")
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
	kj := readFixture(t, "kiriminaja/instant_shipped")
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
