package adapter_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas"
)

// update rewrites the golden files: go test ./internal/adapter/ -run Golden -update
var update = flag.Bool("update", false, "rewrite testdata/**/*.golden.json and the README mapping table")

// fixtureReceivedAt is the gateway receive time every fixture record carries.
var fixtureReceivedAt = time.Date(2025, 9, 1, 3, 4, 5, 123456789, time.UTC)

// golden is the expected result of one fixture: outputs, or the error reason.
type golden struct {
	Error   *goldenError   `json:"error,omitempty"`
	Outputs []goldenOutput `json:"outputs,omitempty"`
}

type goldenError struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type goldenOutput struct {
	DedupKey string          `json:"dedup_key"`
	Event    json.RawMessage `json:"event"`
}

// fixtureRecord is the raw record a fixture body arrives in.
func fixtureRecord(provider, name string, body []byte) adapter.RawRecord {
	return adapter.RawRecord{
		Provider:   provider,
		Body:       body,
		ReceivedAt: fixtureReceivedAt,
		RequestID:  "req-" + name,
		Topic:      schemas.TopicRaw,
		Partition:  3,
		Offset:     1042,
	}
}

// fixture is one testdata/<provider>/<case>.json body.
type fixture struct {
	Name, Path string
	Body       []byte
}

// fixtures lists the bodies in testdata/<provider>, sorted by name.
func fixtures(t testing.TB, provider string) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", provider, "*.json"))
	require.NoError(t, err)
	var out []fixture
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		body, err := os.ReadFile(p)
		require.NoError(t, err)
		out = append(out, fixture{Name: strings.TrimSuffix(filepath.Base(p), ".json"), Path: p, Body: body})
	}
	return out
}

// result runs a fixture through the registry and renders it as a golden value.
func result(t testing.TB, provider string, f fixture) ([]adapter.Output, golden) {
	t.Helper()
	outs, err := adapter.Normalize(fixtureRecord(provider, f.Name, f.Body))
	if err != nil {
		require.Empty(t, outs, "an adapter never returns both outputs and an error")
		return nil, golden{Error: &goldenError{Reason: adapter.ReasonOf(err), Message: err.Error()}}
	}
	var g golden
	for _, o := range outs {
		ev, err := json.Marshal(o.Event)
		require.NoError(t, err)
		g.Outputs = append(g.Outputs, goldenOutput{DedupKey: o.DedupKey, Event: ev})
	}
	return outs, g
}

// runGolden compares every fixture of provider with its .golden.json.
func runGolden(t *testing.T, provider string) {
	fs := fixtures(t, provider)
	require.NotEmpty(t, fs, "testdata/%s has no fixtures", provider)
	for _, f := range fs {
		t.Run(f.Name, func(t *testing.T) {
			_, g := result(t, provider, f)
			got, err := json.MarshalIndent(g, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			path := strings.TrimSuffix(f.Path, ".json") + ".golden.json"
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "missing golden file; run with -update")
			if !bytes.Equal(want, got) {
				assert.JSONEq(t, string(want), string(got))
				assert.Equal(t, string(want), string(got))
			}
		})
	}
}
