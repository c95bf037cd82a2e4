package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/schemas/shipment"
)

func TestNormalize(t *testing.T) {
	cases := map[string]struct {
		args       []string
		stdin      string
		code       int
		wantEvents int
		wantStderr string
	}{
		"file":             {args: []string{"--provider", "komerce", "--received-at", "2026-01-02T03:04:05Z", "../../internal/adapter/testdata/komerce/status_dikirim.json"}, code: 0, wantEvents: 1},
		"stdin":            {args: []string{"--provider", "komerce"}, stdin: `{"order_no":"A1","cnote":"C1","status":"Selesai"}`, code: 0, wantEvents: 1},
		"poison":           {args: []string{"--provider", "komerce"}, stdin: `{not json`, code: 2, wantStderr: "reason=invalid_json"},
		"unknown provider": {args: []string{"--provider", "nope"}, stdin: `{}`, code: 2, wantStderr: "reason=unknown_provider"},
		"no provider":      {args: []string{}, stdin: `{}`, code: 2, wantStderr: "usage"},
		"bad received-at":  {args: []string{"--provider", "komerce", "--received-at", "yesterday"}, stdin: `{}`, code: 2, wantStderr: "--received-at"},
		"missing file":     {args: []string{"--provider", "komerce", "does-not-exist.json"}, code: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append([]string{"normalize"}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			assert.Equal(t, tc.code, code, "stderr: %s", stderr.String())
			assert.Contains(t, stderr.String(), tc.wantStderr)
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if tc.wantEvents == 0 {
				assert.Empty(t, strings.TrimSpace(stdout.String()))
				return
			}
			require.Len(t, lines, tc.wantEvents)
			for _, l := range lines {
				var ev shipment.Event
				require.NoError(t, json.Unmarshal([]byte(l), &ev))
				assert.Equal(t, shipment.SpecVersion, ev.SpecVersion)
				assert.True(t, ev.Data.Advances)
				assert.NotEqual(t, shipment.StatusUnknown, ev.Data.Status)
			}
		})
	}
}

func TestNormalize_receivedAtIsUsed(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"normalize", "--provider", "komerce", "--received-at", "2026-01-02T03:04:05+07:00"},
		strings.NewReader(`{"order_no":"A1","cnote":"C1","status":"Dikirim"}`), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var ev shipment.Event
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &ev))
	assert.Equal(t, "2026-01-01T20:04:05Z", ev.Data.ReceivedAt.Format("2006-01-02T15:04:05Z07:00"))
}

func TestRun_unknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, run(t.Context(), []string{"frobnicate"}, nil, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "usage")
}
