package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/state/statetest"
	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/providers/seed"
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

// TestNormalize_sequence replays Komerce NDJSON on stdin with the service's
// identity and state rules. Bodies an hour apart: the re-delivered Dikirim is
// dropped as a duplicate, the Dikirim after Gagal Kirim is a new event, the
// late Dijemput does not move the shipment back. Bodies a second apart (the
// default): both repeated Dikirim are inside the re-delivery window and
// dropped, as the consumer drops them
// (consume's TestIntegrationConsumer_komerceRetryAfterAnotherStatusIsARedelivery).
// The final state is printed on stderr.
func TestNormalize_sequence(t *testing.T) {
	in := strings.Join([]string{
		`{"order_no":"K1","cnote":"C1","status":"Dikirim"}`,
		`{"order_no":"K1","cnote":"C1","status":"Dikirim"}`,
		`{"order_no":"K1","cnote":"C1","status":"Gagal Kirim"}`,
		`{"order_no":"K1","cnote":"C1","status":"Dikirim"}`,
		`{"order_no":"K1","cnote":"C1","status":"Dijemput"}`,
		`{"order_no":"K1","cnote":"C1","status":"Selesai"}`,
	}, "\n")
	tests := map[string]struct {
		interval    string
		want        []string
		duplicates  int
		redelivered int
	}{
		"an hour apart": {interval: "1h", duplicates: 1,
			want: []string{"in_transit/true", "delivery_failed/true", "in_transit/false", "picked_up/false", "delivered/true"}},
		"a second apart": {interval: "1s", redelivered: 2,
			want: []string{"in_transit/true", "delivery_failed/true", "picked_up/false", "delivered/true"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"normalize", "--provider", "komerce", "--received-at", "2026-01-02T03:04:05Z",
				"--interval", tc.interval}, strings.NewReader(in), &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			evs := decodeEvents(t, stdout.String())
			var got []string
			ids := map[string]bool{}
			for _, ev := range evs {
				got = append(got, fmt.Sprintf("%s/%v", ev.Data.Status, ev.Data.Advances))
				ids[ev.ID] = true
			}
			assert.Equal(t, tc.want, got)
			assert.Len(t, ids, len(tc.want))
			assert.Equal(t, tc.duplicates, strings.Count(stderr.String(), "duplicate of an event already emitted"), stderr.String())
			assert.Equal(t, tc.redelivered, strings.Count(stderr.String(), "a re-delivery, dropped"), stderr.String())
			assert.Contains(t, stderr.String(), "final komerce:K1: delivered (delivered.to_recipient) terminal=true")
		})
	}
}

// TestNormalize_filesInOrder is issue 11's KiriminAja sequence as three files:
// shipped, a problem stamped later, the delivery stamped earlier: every event
// advances and the shipment ends delivered.
func TestNormalize_filesInOrder(t *testing.T) {
	var files []string
	for _, lc := range statetest.Lifecycles(t, "") {
		if lc.Name != "kiriminaja express: exception then delivered" {
			continue
		}
		for i, s := range lc.Steps {
			f := filepath.Join(t.TempDir(), fmt.Sprintf("%d.json", i))
			require.NoError(t, os.WriteFile(f, s.Body, 0o600))
			files = append(files, f)
		}
	}
	require.Len(t, files, 3)
	var stdout, stderr bytes.Buffer
	// The flags may follow the files.
	code := run(t.Context(), append(append([]string{"normalize"}, files...), "--provider", "kiriminaja"), nil, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	evs := decodeEvents(t, stdout.String())
	require.Len(t, evs, 3)
	for _, ev := range evs {
		assert.True(t, ev.Data.Advances, "%s", ev.Data.Status)
	}
	assert.Equal(t, shipment.StatusDelivered, evs[2].Data.Status)
	assert.Contains(t, stderr.String(), "final kiriminaja:KA-PROBLEM: delivered")
	assert.Contains(t, stderr.String(), "terminal=true")
}

func TestNormalize_prettyBodyOnStdin(t *testing.T) {
	body, err := seed.Read(providers.KiriminAja, "instant_finished")
	require.NoError(t, err)
	require.Contains(t, string(bytes.TrimSpace(body)), "\n", "the fixture spans several lines")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"normalize", "--provider", "kiriminaja"}, bytes.NewReader(body), &stdout, &stderr), stderr.String())
	assert.Len(t, decodeEvents(t, stdout.String()), 1)
}

func decodeEvents(t *testing.T, out string) []shipment.Event {
	t.Helper()
	var evs []shipment.Event
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev shipment.Event
		require.NoError(t, json.Unmarshal([]byte(l), &ev), l)
		evs = append(evs, ev)
	}
	return evs
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
