package demo_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/deployments/internal/demo"
	"github.com/courierhook/pipeline/deployments/internal/devrun"
	"github.com/courierhook/pipeline/deployments/internal/e2e"
	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/deployments/internal/workspace"
	"github.com/courierhook/pipeline/platform/testkit"
)

// TestIntegrationDemo_endsWithLookups runs the three services built from the
// current source on real Kafka and Redis, posts the seed payloads through the
// gateway the way `make demo` does, and checks that the run ends with the
// normalizer's lookup of one shipment and one webhook that went through the whole
// pipeline: the shipment's current state and events, the webhook's raw location
// and the events it produced.
func TestIntegrationDemo_endsWithLookups(t *testing.T) {
	k, r := testkit.Kafka(t), testkit.Redis(t)
	root, err := workspace.Root("")
	require.NoError(t, err)
	bin := t.TempDir()
	for _, svc := range devrun.Services {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, svc), "./cmd/"+svc)
		cmd.Dir = filepath.Join(root, svc)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "building %s:\n%s", svc, out)
	}
	sink, err := e2e.NewSink()
	require.NoError(t, err)
	defer sink.Close()
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	p, err := e2e.NewPipeline(t.Context(), e2e.PipelineConfig{
		BinDir: bin, WorkDir: t.TempDir(), Brokers: k.Brokers, RedisAddr: r.Addr, RunID: run,
		Partitions: 3, SinkURL: sink.URL(), Publish: true, Creds: seed.Demo(), RedisPrefix: r.Prefix,
	})
	require.NoError(t, err)
	require.NoError(t, p.Start(t.Context()))
	defer p.Stop()
	normalizerOps := strings.TrimSuffix(p.Procs["normalizer"].ReadyURL, "/readyz")

	payloads := seed.Payloads()
	var out strings.Builder
	sum, err := demo.Run(t.Context(), demo.Options{
		GatewayURL: p.GatewayURL, Brokers: k.Brokers, Topic: p.Topics.Canonical, Payloads: payloads,
		Credentials: seed.Demo(), Timeout: 90 * time.Second, Idle: 5 * time.Second, LookupURL: normalizerOps,
	}, &out)
	t.Logf("demo output:\n%s", out.String())
	require.NoError(t, err)
	require.Positive(t, sum.FromThisRun)

	text := out.String()
	i := strings.Index(text, "lookup shipment ")
	j := strings.Index(text, "lookup webhook ")
	require.True(t, i > 0 && j > i, "the run ends with a shipment lookup, then a webhook lookup")
	var ship struct {
		State *struct {
			Status  string `json:"status"`
			EventID string `json:"event_id"`
		} `json:"state"`
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal([]byte(jsonAfter(t, text[i:j])), &ship))
	require.NotNil(t, ship.State, "the shipment has a current state")
	assert.NotEmpty(t, ship.State.Status)
	assert.NotEmpty(t, ship.Events)
	var hook struct {
		RequestID string `json:"request_id"`
		Raw       struct {
			Topic string `json:"topic"`
		} `json:"raw"`
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal([]byte(jsonAfter(t, text[j:])), &hook))
	assert.Equal(t, p.Topics.Raw, hook.Raw.Topic)
	assert.NotEmpty(t, hook.RequestID)
	require.NotEmpty(t, hook.Events, "the webhook's canonical events")
	assert.Eventually(t, func() bool { return sink.Delivered(hook.Events[0].ID) > 0 }, 30*time.Second, 200*time.Millisecond,
		"the looked-up webhook's event reached the dispatcher's sink")
}

// jsonAfter returns the JSON object that follows the first line of s.
func jsonAfter(t *testing.T, s string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)\n\s*(\{.*\n\s*\})`).FindStringSubmatch(s)
	require.NotNil(t, m, "no JSON answer in %q", s)
	return m[1]
}
