package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/ops"
)

func TestServer(t *testing.T) {
	s := ops.New("127.0.0.1:0", nil)
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_things_total", Help: "things"})
	s.Registry().MustRegister(c)
	c.Add(3)
	var failing error
	s.AddCheck("kafka", func(context.Context) (any, error) { return map[string]int{"depth": 2}, failing })
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + s.Addr()

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, _ := get("/healthz")
	assert.Equal(t, http.StatusOK, code)

	code, body := get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "not ready until SetReady(true)")

	s.SetReady(true)
	code, body = get("/readyz")
	assert.Equal(t, http.StatusOK, code, body)
	var ready struct {
		Ready  bool `json:"ready"`
		Checks map[string]struct {
			OK     bool           `json:"ok"`
			Detail map[string]int `json:"detail"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &ready))
	assert.True(t, ready.Ready)
	assert.Equal(t, 2, ready.Checks["kafka"].Detail["depth"])

	failing = errors.New("broker unreachable")
	code, body = get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "broker unreachable")

	code, body = get("/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "test_things_total 3")
	assert.Contains(t, body, "go_goroutines")

	cancel()
	require.NoError(t, <-done)
}

func TestServer_Handle(t *testing.T) {
	s := ops.New("127.0.0.1:0", nil)
	s.Handle("/v1/things/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	resp, err := http.Get("http://" + s.Addr() + "/v1/things/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTeapot, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
}
