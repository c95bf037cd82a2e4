package deployments_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/schemas"
)

// loadCompose loads docker-compose.yml the way `docker compose` does (the
// compose-spec reference loader: schema validation, interpolation, merge of
// anchors), with an empty environment so the file's defaults are what is tested.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv([]string{}),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
	)
	require.NoError(t, err)
	p, err := opts.LoadProject(t.Context())
	require.NoError(t, err, "docker-compose.yml does not load")
	return p
}

func TestCompose_Services(t *testing.T) {
	p := loadCompose(t)
	assert.Equal(t, "courierhook", p.Name)
	assert.ElementsMatch(t, []string{"kafka", "redis", "kafka-init", "gateway", "normalizer", "dispatcher"}, p.ServiceNames())

	kafka := p.Services["kafka"]
	assert.Equal(t, "apache/kafka:4.1.1", kafka.Image)
	assert.Equal(t, "broker,controller", env(kafka, "KAFKA_PROCESS_ROLES"), "single-node KRaft")
	assert.NotEmpty(t, env(kafka, "KAFKA_CONTROLLER_QUORUM_VOTERS"))
	assert.Equal(t, "false", env(kafka, "KAFKA_AUTO_CREATE_TOPICS_ENABLE"), "topics come from kafka-init")
	assert.Contains(t, env(kafka, "KAFKA_ADVERTISED_LISTENERS"), "PLAINTEXT://kafka:9092", "services reach the broker as kafka:9092")
	for _, name := range []string{"kafka", "redis"} {
		hc := p.Services[name].HealthCheck
		require.NotNil(t, hc, "%s has no healthcheck", name)
		assert.NotEmpty(t, hc.Test, name)
		assert.False(t, hc.Disable, name)
	}
	for _, svc := range p.Services {
		for _, port := range svc.Ports {
			assert.Equal(t, "127.0.0.1", port.HostIP, "%s publishes %s beyond loopback", svc.Name, port.Published)
			assert.NotContains(t, []string{"9092", "6379"}, port.Published, "%s takes a port a local Kafka/Redis uses", svc.Name)
		}
	}
}

func TestCompose_TopicsInit(t *testing.T) {
	p := loadCompose(t)
	initSvc := p.Services["kafka-init"]
	assert.Equal(t, types.ServiceConditionHealthy, initSvc.DependsOn["kafka"].Condition)
	assert.Equal(t, "no", initSvc.Restart, "a one-shot must not restart")
	script := strings.Join(initSvc.Command, " ")
	assert.Contains(t, script, "--if-not-exists", "re-running must be safe")
	topics := map[string]int{}
	for _, m := range regexp.MustCompile(`([a-z0-9.]+):(\d+)`).FindAllStringSubmatch(script, -1) {
		n, _ := strconv.Atoi(m[2])
		topics[m[1]] = n
	}
	assert.Equal(t, 12, topics[schemas.TopicRaw], "raw topic partitions")
	assert.Equal(t, 12, topics[schemas.TopicCanonical], "canonical topic partitions")
	assert.Positive(t, topics[schemas.TopicRawDLQ], "raw DLQ created")
	assert.Positive(t, topics[schemas.TopicDispatchDLQ], "dispatch DLQ created")
	for _, delay := range strings.Split(envDefault(t, goSource(t, repoRoot(t), "dispatcher"), "DISPATCHER_RETRY_DELAYS"), ",") {
		assert.Positive(t, topics[schemas.TopicDispatchRetryPrefix+delay], "retry tier topic for %s (the broker does not auto-create)", delay)
	}
}

// TestCompose_RepairRetentionIsOneKnob: the retention kafka-init gives the raw
// topic and the DLQs and the one the services keep redrive marks and
// renormalize checkpoints for come from the same variable, so raising one
// cannot leave the other behind (a late redrive would re-send what it sent).
func TestCompose_RepairRetentionIsOneKnob(t *testing.T) {
	p := loadCompose(t)
	ms := env(p.Services["kafka-init"], "REPAIR_RETENTION_MS")
	require.NotEmpty(t, ms)
	assert.Equal(t, "2592000000", ms, "30 days by default")
	for _, name := range Services {
		got, err := time.ParseDuration(env(p.Services[name], "KAFKA_REPAIR_RETENTION"))
		require.NoError(t, err, name)
		assert.Equal(t, ms, strconv.FormatInt(got.Milliseconds(), 10), "%s keeps its repair marks as long as the topics keep records", name)
	}
}

func TestCompose_AppServices(t *testing.T) {
	root := repoRoot(t)
	p := loadCompose(t)
	for _, name := range Services {
		t.Run(name, func(t *testing.T) {
			svc := p.Services[name]
			require.NotNil(t, svc.Build, "built from a Dockerfile")
			assert.Equal(t, root, svc.Build.Context, "build context is the repository root")
			assert.FileExists(t, filepath.Join(root, svc.Build.Dockerfile))
			assert.Equal(t, filepath.Join("deployments", "docker", name+".Dockerfile"), svc.Build.Dockerfile)

			assert.Equal(t, types.ServiceConditionCompletedSuccessfully, svc.DependsOn["kafka-init"].Condition, "waits for the topics")
			assert.Equal(t, "kafka:9092", env(svc, "KAFKA_BROKERS"))

			// Every variable set must be one the service reads (or one its mounted
			// routes file references as ${VAR}): a renamed variable would otherwise
			// be silently ignored.
			declared := serviceEnv(t, root, name)
			for _, v := range svc.Volumes {
				if b, err := os.ReadFile(v.Source); err == nil {
					for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`).FindAllStringSubmatch(string(b), -1) {
						declared[m[1]] = true
					}
				}
			}
			for k := range svc.Environment {
				assert.True(t, declared[k], "%s sets %s, which %s does not read", name, k, name)
			}

			// The healthcheck probes /readyz on the port the service's ops server binds.
			hc := svc.HealthCheck
			require.NotNil(t, hc, "healthcheck")
			require.GreaterOrEqual(t, len(hc.Test), 3)
			assert.Equal(t, []string{"CMD", "/healthcheck"}, []string(hc.Test[:2]), "distroless: no shell, use the baked-in probe")
			_, opsPort, err := net.SplitHostPort(env(svc, strings.ToUpper(name)+"_OPS_ADDR"))
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("http://127.0.0.1:%s/readyz", opsPort), hc.Test[2])
			assert.NotNil(t, svc.StopGracePeriod, "stop_grace_period covers the drain")
		})
	}
	gw := p.Services["gateway"]
	assert.Equal(t, types.ServiceConditionHealthy, gw.DependsOn["kafka"].Condition)
	for _, k := range []string{"GATEWAY_KIRIMINAJA_API_KEY", "GATEWAY_DASH_AUTH_HEADER", "GATEWAY_DASH_AUTH_VALUE", "GATEWAY_KOMERCE_TOKEN", "GATEWAY_SENDSTACK_APP_SECRET"} {
		assert.NotEmpty(t, env(gw, k), "gateway %s (demo default)", k)
	}
	require.Len(t, gw.Volumes, 1)
	assert.Equal(t, types.VolumeTypeVolume, gw.Volumes[0].Type, "the spool is a named volume: it survives container re-creation")
	assert.Equal(t, env(gw, "GATEWAY_SPOOL_DIR"), gw.Volumes[0].Target)
	assert.Equal(t, types.ServiceConditionHealthy, p.Services["normalizer"].DependsOn["redis"].Condition)
	assert.Equal(t, "redis:6379", env(p.Services["normalizer"], "REDIS_ADDR"), "only the normalizer uses Redis")

	disp := p.Services["dispatcher"]
	require.Len(t, disp.Volumes, 1)
	assert.Equal(t, env(disp, "DISPATCHER_ROUTES_FILE"), disp.Volumes[0].Target)
	assert.FileExists(t, disp.Volumes[0].Source, "routes file mounted into the dispatcher")
	assert.True(t, strings.HasPrefix(env(disp, "MERCHANT_WEBHOOK_SECRET_NEXT"), "whsec_"), "interpolated demo default")
}

// TestDockerfiles checks what `docker build` would need, by reading: there is no
// Docker engine to build with here.
func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	for _, name := range Services {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(root, "deployments", "docker", name+".Dockerfile"))
			require.NoError(t, err)
			df := string(b)
			froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1)
			require.Len(t, froms, 2, "multi-stage: build + runtime")
			assert.Equal(t, "gcr.io/distroless/static-debian12:nonroot", froms[1][1], "static distroless, non-root")
			assert.Regexp(t, `(?m)^USER nonroot`, df)
			assert.Contains(t, df, "CGO_ENABLED=0", "static binary")
			assert.Contains(t, df, "GOWORK=off", "builds with the service's own go.mod (require+replace)")
			assert.Regexp(t, fmt.Sprintf(`go build .*-o /out/%s \./cmd/%s`, name, name), df)
			assert.Regexp(t, fmt.Sprintf(`(?m)^ENTRYPOINT \["/%s"\]`, name), df)

			// Every COPY source from the build context must exist, and the local
			// modules the service replaces must all be copied.
			copied := map[string]bool{}
			for _, m := range regexp.MustCompile(`(?m)^COPY\s+(?:--\S+\s+)*(\S+)\s+\S+$`).FindAllStringSubmatch(df, -1) {
				src := m[1]
				if strings.Contains(m[0], "--from=") {
					continue
				}
				matches, err := filepath.Glob(filepath.Join(root, src))
				require.NoError(t, err)
				assert.NotEmpty(t, matches, "COPY %s: nothing in the build context", src)
				copied[strings.SplitN(src, "/", 2)[0]] = true
			}
			mod, err := os.ReadFile(filepath.Join(root, name, "go.mod"))
			require.NoError(t, err)
			for _, m := range regexp.MustCompile(`=>\s*\.\./(\w+)`).FindAllStringSubmatch(string(mod), -1) {
				assert.True(t, copied[m[1]], "%s/go.mod replaces ../%s, which the Dockerfile does not copy", name, m[1])
			}
			assert.True(t, copied[name])
		})
	}
}

// env returns a service's environment value ("" when unset).
func env(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}
