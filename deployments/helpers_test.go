package deployments_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/deployments/internal/workspace"
	"github.com/courierhook/pipeline/schemas/providers"
)

// Services are the three service modules, by folder.
var Services = []string{"gateway", "normalizer", "dispatcher"}

// repoRoot is the repository root (the directory holding go.work).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := workspace.Root("")
	require.NoError(t, err)
	return root
}

// goSource concatenates the non-test Go files under root/dirs.
func goSource(t *testing.T, root string, dirs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if de.IsDir() && (de.Name() == "testdata" || strings.HasPrefix(de.Name(), ".")) {
				return filepath.SkipDir
			}
			if de.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b.Write(src)
			b.WriteByte('\n')
			return nil
		})
		require.NoError(t, err, "reading Go source under %s", d)
	}
	return b.String()
}

var (
	envTagRe    = regexp.MustCompile(`env:"([A-Z0-9_]+)[",]`)
	envPrefixRe = regexp.MustCompile(`envPrefix:"([A-Z0-9_]+)"`)
	envDefRe    = "env:\"%s\"[^`]*?envDefault:\"([^\"]*)\""
	metricRe    = regexp.MustCompile(`Name:\s*"((?:gateway|normalizer|dispatcher)_[a-z0-9_]+)"`)
)

// envNames is the set of environment variables declared in src through
// caarlos0/env tags: plain `env:"NAME"`, plus every envPrefix joined with every
// name (the gateway's provider secrets are added by serviceEnv).
func envNames(src string) map[string]bool {
	names := map[string]bool{}
	var plain []string
	for _, m := range envTagRe.FindAllStringSubmatch(src, -1) {
		names[m[1]] = true
		plain = append(plain, m[1])
	}
	for _, p := range envPrefixRe.FindAllStringSubmatch(src, -1) {
		for _, n := range plain {
			names[p[1]+n] = true
		}
	}
	return names
}

// envDefault returns the envDefault of variable name in src, or fails.
func envDefault(t *testing.T, src, name string) string {
	t.Helper()
	m := regexp.MustCompile(strings.ReplaceAll(envDefRe, "%s", regexp.QuoteMeta(name))).FindStringSubmatch(src)
	require.NotNil(t, m, "no envDefault for %s in the service source", name)
	return m[1]
}

// registeredMetrics is the set of Prometheus metric names the services register
// (Name: "gateway_..." in their non-test source).
func registeredMetrics(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range metricRe.FindAllStringSubmatch(goSource(t, root, Services...), -1) {
		out[m[1]] = true
	}
	return out
}

// serviceEnv is every variable a service (or the platform code it embeds) reads.
func serviceEnv(t *testing.T, root, svc string) map[string]bool {
	t.Helper()
	src := goSource(t, root, svc, "platform")
	names := envNames(src)
	if svc == "gateway" {
		// The gateway reads each provider's secrets (provider.Secrets tags) under
		// GATEWAY_<NAME>_ for every row of its table (provider.EnvPrefix), whose
		// names are schemas/providers'.
		for _, m := range envTagRe.FindAllStringSubmatch(src, -1) {
			for _, p := range providers.Providers() {
				names["GATEWAY_"+strings.ToUpper(p)+"_"+m[1]] = true
			}
		}
	}
	return names
}
