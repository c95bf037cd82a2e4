package deployments_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/schemas/providers"
	provseed "github.com/courierhook/pipeline/schemas/providers/seed"
)

// buildTool builds module/cmd/name into dir and returns the binary's path.
func buildTool(t *testing.T, root, module, name, dir string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
	cmd.Dir = filepath.Join(root, module)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "building %s/cmd/%s: %s", module, name, b)
	return out
}

type seen struct {
	method, path string
	header       http.Header
	body         []byte
}

// TestProviders_InEveryPart fails when a provider of schemas/providers is missing
// from any part that must know it, each checked through what it does rather than
// by reading its source:
//   - the seed payloads (schemas/providers/seed);
//   - the gateway's provider table and the load tool: gateway/cmd/loadgen, whose
//     requests come from that table (provider.NewRequest; rows it lacks are
//     skipped), must send every provider's seeds;
//   - the demo credentials: seed.Demo().Request must build, for each loadgen
//     request, the same path and the same authentication headers (so the demo
//     signs as the gateway's table verifies);
//   - the normalizer's adapter registry: `normalizer normalize --provider P` must
//     map P's first seed to events of provider P (an unregistered provider
//     dead-letters as unknown_provider);
//   - docker-compose.yml: the compose gateway must be given each of P's demo
//     secrets (GATEWAY_<P>_*, as seed.Demo().Env() renders them) with the demo's
//     value, as `docker compose` resolves the file; without them the gateway
//     refuses P's webhooks (401).
func TestProviders_InEveryPart(t *testing.T) {
	root := repoRoot(t)
	names := providers.Providers()
	for _, p := range names {
		assert.NotEmpty(t, provseed.Of(p), "%s: no seed payloads in schemas/providers/seed/%s", p, p)
	}

	compose := loadCompose(t).Services["gateway"]

	bin := t.TempDir()
	loadgen := buildTool(t, root, "gateway", "loadgen", bin)
	normalizer := buildTool(t, root, "normalizer", "normalizer", bin)

	var mu sync.Mutex
	got := map[string][]seen{} // provider -> requests
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rest, _ := strings.CutPrefix(r.URL.Path, "/webhooks/")
		p, _, _ := strings.Cut(rest, "/")
		mu.Lock()
		if len(got[p]) < 200 {
			got[p] = append(got[p], seen{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body})
		}
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)

	cmd := exec.CommandContext(t.Context(), loadgen, "-url", srv.URL, "-duration", "1s", "-concurrency", "2")
	cmd.Env = append(os.Environ(), seed.Demo().Env()...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "loadgen: %s", out)

	for _, p := range names {
		t.Run(p, func(t *testing.T) {
			mu.Lock()
			reqs := got[p]
			mu.Unlock()
			require.NotEmpty(t, reqs, "%s: loadgen sent nothing: missing from the gateway's provider table or the load tool", p)
			bodies := map[string]bool{}
			for _, r := range reqs {
				bodies[string(r.body)] = true
				demo, err := seed.Demo().Request(t.Context(), srv.URL, p, r.body)
				require.NoError(t, err, "%s: no demo credentials", p)
				assert.Equal(t, demo.URL.Path, r.path, "%s: demo and gateway table disagree on the path (URL token)", p)
				for k := range demo.Header {
					if k == "User-Agent" || k == "Content-Type" {
						continue
					}
					assert.Equal(t, demo.Header.Get(k), r.header.Get(k), "%s: demo credentials and the gateway table disagree on %s", p, k)
				}
			}
			for _, s := range provseed.Of(p) {
				assert.True(t, bodies[string(s.Body)], "%s/%s: loadgen did not send this seed", p, s.Name)
			}

			prefix := "GATEWAY_" + strings.ToUpper(p) + "_"
			secrets := 0
			for _, kv := range seed.Demo().Env() {
				if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, prefix) {
					secrets++
					assert.Equal(t, v, env(compose, k), "docker-compose.yml: the gateway's %s is not the demo's", k)
				}
			}
			assert.Positive(t, secrets, "%s: the demo credentials set no %s* variable", p, prefix)

			first := provseed.Of(p)[0]
			nc := exec.CommandContext(t.Context(), normalizer, "normalize", "--provider", p)
			nc.Stdin = bytes.NewReader(first.Body)
			var stdout, stderr bytes.Buffer
			nc.Stdout, nc.Stderr = &stdout, &stderr
			require.NoError(t, nc.Run(), "%s: normalizer has no adapter for it? %s", p, stderr.String())
			events := 0
			sc := bufio.NewScanner(&stdout)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var ev struct {
					Data struct {
						Provider string `json:"provider"`
					} `json:"data"`
				}
				require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
				assert.Equal(t, p, ev.Data.Provider)
				events++
			}
			assert.Positive(t, events, "%s/%s: no canonical event", p, first.Name)
		})
	}
}
