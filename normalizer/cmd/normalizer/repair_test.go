package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRepairCommands_usage(t *testing.T) {
	for name, args := range map[string][]string{
		"renormalize without --since": {"renormalize"},
		"renormalize bad time":        {"renormalize", "--since", "yesterday"},
		"redrive stray argument":      {"redrive", "extra"},
		"redrive bad until":           {"redrive", "--until", "soon"},
		"lookup nothing":              {"lookup"},
		"lookup shipment without id":  {"lookup", "shipment", "dash"},
		"lookup unknown kind":         {"lookup", "parcel", "x"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, 2, run(t.Context(), args, nil, &stdout, &stderr))
			assert.Empty(t, stdout.String())
			assert.NotEmpty(t, stderr.String())
		})
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	got, err := parseTime("36h", now)
	require.NoError(t, err)
	assert.Equal(t, now.Add(-36*time.Hour), got)
	got, err = parseTime("2026-05-01T08:00:00+07:00", now)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC), got)
	_, err = parseTime("-5m", now)
	assert.Error(t, err)
}

func TestLookupCmd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.RequestURI() {
		case "/v1/shipments/dash/D%201":
			_, _ = w.Write([]byte(`{"provider":"dash"}`))
		case "/v1/webhooks/req-1?include=raw%2Cdispatch":
			_, _ = w.Write([]byte(`{"request_id":"req-1"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"no"}`))
		}
	}))
	defer srv.Close()
	t.Setenv("NORMALIZER_LOOKUP_URL", srv.URL)
	t.Setenv("NORMALIZER_LOOKUP_TOKEN", "tok")
	for name, tc := range map[string]struct {
		args []string
		code int
		out  string
	}{
		"shipment":         {[]string{"lookup", "shipment", "dash", "D 1"}, 0, `{"provider":"dash"}`},
		"webhook includes": {[]string{"lookup", "webhook", "--raw", "--dispatch", "req-1"}, 0, `{"request_id":"req-1"}`},
		"not found":        {[]string{"lookup", "webhook", "nope"}, 3, ""},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tc.code, run(t.Context(), tc.args, nil, &stdout, &stderr), stderr.String())
			assert.Equal(t, tc.out, string(bytes.TrimSpace(stdout.Bytes())))
		})
	}
}
