package adapter_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/providers/seed"
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

// fixture is one body: a seed payload (schemas/providers/seed/<provider>/<case>.json,
// named "seed_<case>") or an adapter-specific case (testdata/<provider>/<case>.json).
// Golden is its expected output, testdata/<provider>/<name>.golden.json.
type fixture struct {
	Name, Golden string
	Body         []byte
}

// fixtures lists provider's seed payloads and its testdata cases, sorted by name.
func fixtures(t testing.TB, provider string) []fixture {
	t.Helper()
	var out []fixture
	for _, p := range seed.Of(provider) {
		name := "seed_" + p.Name
		out = append(out, fixture{Name: name, Golden: goldenPath(provider, name), Body: p.Body})
	}
	paths, err := filepath.Glob(filepath.Join("testdata", provider, "*.json"))
	require.NoError(t, err)
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		body, err := os.ReadFile(p)
		require.NoError(t, err)
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		out = append(out, fixture{Name: name, Golden: goldenPath(provider, name), Body: body})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func goldenPath(provider, name string) string {
	return filepath.Join("testdata", provider, name+".golden.json")
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
	require.NotEmpty(t, fs, "%s has no fixtures", provider)
	for _, f := range fs {
		t.Run(f.Name, func(t *testing.T) {
			_, g := result(t, provider, f)
			got, err := json.MarshalIndent(g, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			path := f.Golden
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
