package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/app"
	"github.com/courierhook/pipeline/gateway/internal/auth"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas/providers/seed"
)

// Test secrets (never used outside tests).
const (
	kjKey           = "kj-test-key-123"
	dashHeader      = "X-Dash-Token"
	dashValue       = "dash-test-value"
	komerceToken    = "komerce-test-token"
	sendstackSecret = "sendstack-app-secret"
)

// testEnv is the environment every test gateway starts from.
func testEnv(brokers []string, topic, spoolDir string) map[string]string {
	return map[string]string{
		"KAFKA_BROKERS":                strings.Join(brokers, ","),
		"GATEWAY_ADDR":                 "127.0.0.1:0",
		"GATEWAY_OPS_ADDR":             "127.0.0.1:0",
		"GATEWAY_RAW_TOPIC":            topic,
		"GATEWAY_SPOOL_DIR":            spoolDir,
		"GATEWAY_KIRIMINAJA_API_KEY":   kjKey,
		"GATEWAY_DASH_AUTH_HEADER":     dashHeader,
		"GATEWAY_DASH_AUTH_VALUE":      dashValue,
		"GATEWAY_KOMERCE_TOKEN":        komerceToken,
		"GATEWAY_SENDSTACK_APP_SECRET": sendstackSecret,
		// The seed tests post every Sendstack signature variant: opt in to the
		// weak ones (the default accepts only a signature over the body).
		"GATEWAY_SENDSTACK_SIGNATURE":  "webhookid,webhookid-json",
		"GATEWAY_SHUTDOWN_TIMEOUT":     "10s",
		"GATEWAY_MAX_BODY_BYTES":       "65536",
		"GATEWAY_RAW_TOPIC_PARTITIONS": "3",
	}
}

type gateway struct {
	url, ops string
}

// startGateway runs an in-process gateway until the test ends.
func startGateway(t *testing.T, env map[string]string, opts ...app.Option) gateway {
	t.Helper()
	cfg, err := app.LoadConfig(env)
	require.NoError(t, err)
	a, err := app.New(cfg, nil, opts...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("gateway did not stop")
		}
	})
	return gateway{url: "http://" + a.Addr(), ops: "http://" + a.OpsAddr()}
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]string
}

// post sends body to path with the provider's valid credentials when signed is true.
func post(t *testing.T, method, url string, body []byte, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "courierhook-test")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := response{Status: res.StatusCode, Header: res.Header}
	require.NoError(t, json.Unmarshal(raw, &out.Body), "response body %q", raw)
	return out
}

// credentials returns the URL suffix and headers that authenticate as provider.
func credentials(provider string, body []byte, sendstackVariant string) (path string, hdr map[string]string) {
	switch provider {
	case "kiriminaja":
		return "/webhooks/kiriminaja", map[string]string{"Authorization": "Bearer " + kjKey}
	case "dash":
		return "/webhooks/dash", map[string]string{dashHeader: dashValue}
	case "komerce":
		return "/webhooks/komerce/" + komerceToken, nil
	case "sendstack":
		var env struct {
			WebhookID string `json:"webhookId"`
		}
		_ = json.Unmarshal(body, &env)
		msg := body
		switch sendstackVariant {
		case auth.VariantHMACWebhookID:
			msg = []byte(env.WebhookID)
		case auth.VariantHMACWebhookIDRaw:
			msg = auth.JSONString(env.WebhookID)
		}
		return "/webhooks/sendstack", map[string]string{"X-Sendstack-Signature": auth.Sign(sendstackSecret, msg)}
	}
	panic("unknown provider " + provider)
}

func header(m kafka.Message, key string) (string, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

func byRequestID(msgs []kafka.Message) map[string][]kafka.Message {
	out := map[string][]kafka.Message{}
	for _, m := range msgs {
		id, _ := header(m, "request_id")
		out[id] = append(out[id], m)
	}
	return out
}

// readFixture returns the seed payload rel, "<provider>/<case>" (schemas/providers/seed).
func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	provider, name, _ := strings.Cut(rel, "/")
	b, err := seed.Read(provider, name)
	require.NoError(t, err)
	return b
}

func kafkaEnv(t *testing.T) *testkit.KafkaEnv {
	t.Helper()
	return testkit.Kafka(t)
}
