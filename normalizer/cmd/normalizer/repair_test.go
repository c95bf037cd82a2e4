package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/repair"
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
		"lookup shipment with --raw":  {"lookup", "shipment", "dash", "D1", "--raw"},
		"lookup webhook two ids":      {"lookup", "webhook", "req-1", "req-2"},
		"lookup webhook unknown flag": {"lookup", "webhook", "req-1", "--bogus"},
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
		case "/v1/shipments/-p/-1":
			_, _ = w.Write([]byte(`{"provider":"-p"}`))
		case "/v1/webhooks/req-1?include=raw%2Cdispatch":
			_, _ = w.Write([]byte(`{"request_id":"req-1"}`))
		case "/v1/webhooks/req-1?include=raw":
			_, _ = w.Write([]byte(`{"request_id":"req-1","raw_body":{}}`))
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
		// The documented order: the flags after the id.
		"webhook flags after the id":  {[]string{"lookup", "webhook", "req-1", "--raw", "--dispatch"}, 0, `{"request_id":"req-1"}`},
		"webhook flags around the id": {[]string{"lookup", "webhook", "--dispatch", "req-1", "--raw"}, 0, `{"request_id":"req-1"}`},
		"webhook raw after the id":    {[]string{"lookup", "webhook", "req-1", "--raw"}, 0, `{"request_id":"req-1","raw_body":{}}`},
		"ids after --":                {[]string{"lookup", "shipment", "--", "-p", "-1"}, 0, `{"provider":"-p"}`},
		"not found":                   {[]string{"lookup", "webhook", "nope"}, 3, ""},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tc.code, run(t.Context(), tc.args, nil, &stdout, &stderr), stderr.String())
			assert.Equal(t, tc.out, string(bytes.TrimSpace(stdout.Bytes())))
		})
	}
}

func TestPosition(t *testing.T) {
	for name, tc := range map[string]struct {
		pos      repair.Position
		bar, log string
	}{
		"part way":     {repair.Position{Done: 4500, Total: 10000}, "[=========>          ] 45% 4,500/10,000", "45% 4,500/10,000"},
		"start":        {repair.Position{Total: 1234567}, "[>                   ] 0% 0/1,234,567", "0% 0/1,234,567"},
		"done":         {repair.Position{Done: 300, Total: 300}, "[====================] 100% 300/300", "100% 300/300"},
		"nothing":      {repair.Position{}, "[====================] 100% 0/0", "100% 0/0"},
		"done > total": {repair.Position{Done: 12, Total: 10}, "[====================] 100% 10/10", "100% 10/10"},
		"rounds down":  {repair.Position{Done: 999, Total: 1000}, "[===================>] 99% 999/1,000", "99% 999/1,000"},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.bar, position(tc.pos, true))
			assert.Equal(t, tc.log, position(tc.pos, false))
		})
	}
}

func TestProgress_show(t *testing.T) {
	pos := repair.Position{Done: 50, Total: 200}
	var log bytes.Buffer
	p := newProgress(&log)
	require.False(t, p.tty, "a buffer is not a terminal")
	p.show(pos, "read=50", false)
	p.show(pos, "read=51", false)
	p.show(repair.Position{Done: 200, Total: 200}, "read=200", true)
	assert.Equal(t, "25% 50/200  read=50\n100% 200/200  read=200\n", log.String(),
		"in logs: plain lines, at most one a second, and always the last")

	var term bytes.Buffer
	p = &progress{w: &term, tty: true}
	p.show(pos, "read=50", false)
	p.show(repair.Position{Done: 200, Total: 200}, "read=200", true)
	assert.Equal(t, "\r\033[K[=====>              ] 25% 50/200  read=50"+
		"\r\033[K[====================] 100% 200/200  read=200\n", term.String(), "on a terminal: the bar, rewritten in place")
}

// TestRepairBatchEnv: NORMALIZER_REPAIR_BATCH is records per batch; unset keeps
// the commands' defaults; anything but a positive count is bad usage.
func TestRepairBatchEnv(t *testing.T) {
	var stderr bytes.Buffer
	t.Setenv(repairBatchEnv, "")
	n, ok := repairBatch(&stderr)
	assert.True(t, ok)
	assert.Equal(t, 0, n, "unset: the command's default")
	t.Setenv(repairBatchEnv, "5")
	n, ok = repairBatch(&stderr)
	assert.True(t, ok)
	assert.Equal(t, 5, n)
	for _, bad := range []string{"0", "-1", "ten", "100001"} {
		t.Setenv(repairBatchEnv, bad)
		_, ok = repairBatch(&stderr)
		assert.False(t, ok, bad)
		for _, cmd := range [][]string{{"redrive"}, {"renormalize", "--since", "1h"}} {
			stderr.Reset()
			assert.Equal(t, 2, run(t.Context(), cmd, nil, &bytes.Buffer{}, &stderr), "%s with %s=%s", cmd[0], repairBatchEnv, bad)
			assert.Contains(t, stderr.String(), repairBatchEnv)
		}
	}
}
