package deployments_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// externalMetrics are metrics the services do not export themselves, with where
// they come from. Every service now exports its own lag, so none are needed.
var externalMetrics = map[string]string{}

var (
	promTokenRe = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promSkipRe  = regexp.MustCompile(`"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promWords   = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "and": true, "or": true, "unless": true, "bool": true, "offset": true, "e": true, "inf": true, "nan": true}
)

// metricNames returns the metric names a PromQL expression selects: identifiers
// that are not functions (followed by "("), keywords, label names or matchers
// (inside {}), ranges ([5m]) or grouping labels (by (...)). Histogram series
// suffixes are mapped to the histogram's name.
func metricNames(expr string) []string {
	stripped := promSkipRe.ReplaceAllString(expr, " ")
	var out []string
	for _, loc := range promTokenRe.FindAllStringIndex(stripped, -1) {
		tok := stripped[loc[0]:loc[1]]
		rest := strings.TrimLeft(stripped[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || promWords[strings.ToLower(tok)] {
			continue
		}
		if loc[0] > 0 && (stripped[loc[0]-1] >= '0' && stripped[loc[0]-1] <= '9' || stripped[loc[0]-1] == '.') {
			continue // exponent or unit of a number (1e-9)
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			tok = strings.TrimSuffix(tok, suffix)
		}
		out = append(out, tok)
	}
	return out
}

func TestMetricNames_Extraction(t *testing.T) {
	got := metricNames(`histogram_quantile(0.99, sum by (le, path) (rate(gateway_ack_latency_seconds_bucket{provider=~"$provider"}[5m]))) / clamp_min(sum(x_total) and on (pod) y, 1e-9)`)
	assert.Equal(t, []string{"gateway_ack_latency_seconds", "x_total", "y"}, got)
}

// checkExprs asserts every metric in exprs is registered by a service (or is a
// known external metric) and returns the set used.
func checkExprs(t *testing.T, where string, exprs []string, registered map[string]bool) map[string]bool {
	t.Helper()
	used := map[string]bool{}
	for _, e := range exprs {
		names := metricNames(e)
		assert.NotEmpty(t, names, "%s: expression selects no metric: %s", where, e)
		for _, n := range names {
			used[n] = true
			_, external := externalMetrics[n]
			assert.True(t, registered[n] || external, "%s: %s is registered by no service (expr %s)", where, n, e)
		}
	}
	return used
}

func TestGrafanaDashboard(t *testing.T) {
	root := repoRoot(t)
	registered := registeredMetrics(t, root)
	require.GreaterOrEqual(t, len(registered), 20, "metric names found in the services' source: %v", registered)

	b, err := os.ReadFile(filepath.Join(root, "deployments", "grafana", "courierhook.json"))
	require.NoError(t, err)
	var dash struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &dash), "dashboard JSON")
	assert.NotEmpty(t, dash.UID)
	var exprs []string
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		assert.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	used := checkExprs(t, "dashboard", exprs, registered)

	// The list: ingest rate and outcomes per provider, ack latency, spool
	// depth, consumer lag, dedup ratio, unknown statuses, dead letters, sink outcomes.
	for _, m := range []string{
		"gateway_requests_total", "gateway_ack_latency_seconds", "gateway_spool_records", "gateway_auth_failures_total",
		"normalizer_consumer_lag", "normalizer_duplicates_dropped_total", "normalizer_events_out_total",
		"normalizer_unknown_status_total", "normalizer_dead_lettered_total",
		"dispatcher_deliveries_total", "dispatcher_dead_letters_total",
	} {
		assert.True(t, used[m], "dashboard has no panel on %s", m)
	}
	var unused []string
	for m := range registered {
		if !used[m] {
			unused = append(unused, m)
		}
	}
	sort.Strings(unused)
	t.Logf("registered metrics not on the dashboard: %v", unused)
}

func TestPrometheusAlerts(t *testing.T) {
	root := repoRoot(t)
	registered := registeredMetrics(t, root)
	b, err := os.ReadFile(filepath.Join(root, "deployments", "prometheus", "alerts.yml"))
	require.NoError(t, err)
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	// The services' YAML module, strict like theirs: an unknown key is an error.
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&file), "alerts.yml is a Prometheus rules file")
	require.NotEmpty(t, file.Groups)
	alerts := map[string]string{}
	for _, g := range file.Groups {
		assert.NotEmpty(t, g.Name)
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: a rule without a name", g.Name)
			assert.NotContains(t, alerts, r.Alert, "duplicate alert")
			alerts[r.Alert] = r.Expr
			assert.Contains(t, []string{"info", "warning", "critical"}, r.Labels["severity"], "%s severity", r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], "%s summary", r.Alert)
			assert.Equal(t, strings.Count(r.Expr, "("), strings.Count(r.Expr, ")"), "%s: unbalanced parentheses", r.Alert)
			checkExprs(t, r.Alert, []string{r.Expr}, registered)
		}
	}
	// The list: spool growing, lag growing, DLQ non-empty, auth failures spiking.
	required := map[string]string{
		"GatewaySpoolGrowing":        "gateway_spool_records",
		"NormalizerLagGrowing":       "normalizer_consumer_lag",
		"DispatcherLagGrowing":       "dispatcher_consumer_lag",
		"RawDLQNonEmpty":             "normalizer_dead_lettered_total",
		"DispatchDLQNonEmpty":        "dispatcher_dead_letters_total",
		"GatewayAuthFailuresSpiking": "gateway_auth_failures_total",
	}
	for alert, metric := range required {
		expr, ok := alerts[alert]
		if assert.True(t, ok, "alert %s missing", alert) {
			assert.Contains(t, metricNames(expr), metric, "%s watches %s", alert, metric)
		}
	}
}

// TestObservability_repairAndUnknownValues keeps issue 12's item 6 true: the
// dashboard and the alert rules cover the unknown-status values and the
// redrive/renormalize progress.
func TestObservability_repairAndUnknownValues(t *testing.T) {
	root := repoRoot(t)
	dash, err := os.ReadFile(filepath.Join(root, "deployments", "grafana", "courierhook.json"))
	require.NoError(t, err)
	alerts, err := os.ReadFile(filepath.Join(root, "deployments", "prometheus", "alerts.yml"))
	require.NoError(t, err)
	for _, m := range []string{"normalizer_unknown_status_values_total", "normalizer_repair_records",
		"normalizer_repair_running", "normalizer_repair_last_update_timestamp_seconds"} {
		assert.Contains(t, string(dash), m, "dashboard")
		assert.Contains(t, string(alerts), m, "alerts")
	}
	assert.Contains(t, string(alerts), "normalizer redrive", "the dead-letter alert names the tool")
}
