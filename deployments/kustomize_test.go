package deployments_test

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/courierhook/pipeline/schemas"
)

// The subset of the Kubernetes objects the test reads.
type (
	probe struct {
		HTTPGet *struct {
			Path string `json:"path"`
			Port any    `json:"port"`
		} `json:"httpGet"`
	}
	container struct {
		Name  string `json:"name"`
		Image string `json:"image"`
		Ports []struct {
			Name          string `json:"name"`
			ContainerPort int    `json:"containerPort"`
		} `json:"ports"`
		Env []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"env"`
		EnvFrom []struct {
			ConfigMapRef *struct{ Name string } `json:"configMapRef"`
			SecretRef    *struct{ Name string } `json:"secretRef"`
		} `json:"envFrom"`
		Resources struct {
			Requests map[string]string `json:"requests"`
			Limits   map[string]string `json:"limits"`
		} `json:"resources"`
		LivenessProbe  *probe `json:"livenessProbe"`
		ReadinessProbe *probe `json:"readinessProbe"`
		VolumeMounts   []struct {
			Name      string `json:"name"`
			MountPath string `json:"mountPath"`
		} `json:"volumeMounts"`
	}
	// deployment is a Deployment or a StatefulSet (the gateway): the parts
	// both share, plus the StatefulSet's claims.
	deployment struct {
		Metadata struct{ Name, Namespace string } `json:"metadata"`
		Spec     struct {
			Replicas             *int   `json:"replicas"`
			ServiceName          string `json:"serviceName"`
			VolumeClaimTemplates []struct {
				Metadata struct{ Name string } `json:"metadata"`
				Spec     struct {
					AccessModes []string `json:"accessModes"`
					Resources   struct {
						Requests map[string]string `json:"requests"`
					} `json:"resources"`
				} `json:"spec"`
			} `json:"volumeClaimTemplates"`
			PVCRetention *struct{ WhenScaled, WhenDeleted string } `json:"persistentVolumeClaimRetentionPolicy"`
			Selector     struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			Template struct {
				Metadata struct {
					Labels map[string]string `json:"labels"`
				} `json:"metadata"`
				Spec struct {
					TerminationGracePeriodSeconds int         `json:"terminationGracePeriodSeconds"`
					Containers                    []container `json:"containers"`
					Volumes                       []struct {
						Name      string                 `json:"name"`
						EmptyDir  *struct{}              `json:"emptyDir"`
						ConfigMap *struct{ Name string } `json:"configMap"`
					} `json:"volumes"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	scaledObject struct {
		Spec struct {
			ScaleTargetRef  struct{ Name string } `json:"scaleTargetRef"`
			MinReplicaCount int                   `json:"minReplicaCount"`
			MaxReplicaCount int                   `json:"maxReplicaCount"`
			Triggers        []struct {
				Type     string            `json:"type"`
				Metadata map[string]string `json:"metadata"`
			} `json:"triggers"`
		} `json:"spec"`
	}
	pdb struct {
		Spec struct {
			MaxUnavailable any `json:"maxUnavailable"`
			MinAvailable   any `json:"minAvailable"`
			Selector       struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
		} `json:"spec"`
	}
	hpa struct {
		Spec struct {
			ScaleTargetRef struct{ Kind, Name string } `json:"scaleTargetRef"`
			MinReplicas    int                         `json:"minReplicas"`
			MaxReplicas    int                         `json:"maxReplicas"`
			Metrics        []map[string]any            `json:"metrics"`
		} `json:"spec"`
	}
	configMap struct {
		Data map[string]string `json:"data"`
	}
	service struct {
		Spec struct {
			ClusterIP string            `json:"clusterIP"`
			Selector  map[string]string `json:"selector"`
			Ports     []struct {
				Name       string `json:"name"`
				Port       int    `json:"port"`
				TargetPort any    `json:"targetPort"`
			} `json:"ports"`
		} `json:"spec"`
	}
)

// workloadKind is the kind each service runs as: the gateway is a StatefulSet
// (a spool volume per pod), the consumers are Deployments.
func workloadKind(name string) string {
	if name == "gateway" {
		return "StatefulSet"
	}
	return "Deployment"
}

// rendered is the example overlay rendered by kustomize, indexed by kind/name.
type rendered struct {
	rm resmap.ResMap
}

func renderOverlay(t *testing.T) rendered {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "deployments", "k8s", "overlays", "example")
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	return rendered{rm: rm}
}

// get decodes the object kind/name into v; it fails when there is none.
func (r rendered) get(t *testing.T, kind, name string, v any) {
	t.Helper()
	for _, res := range r.rm.Resources() {
		if res.GetKind() == kind && res.GetName() == name {
			b, err := res.MarshalJSON()
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, v))
			return
		}
	}
	require.Failf(t, "missing object", "%s %q not in the rendered overlay", kind, name)
}

// named returns the name of the single object of kind whose name starts with
// prefix (generated ConfigMaps and Secrets carry a content hash suffix).
func (r rendered) named(t *testing.T, kind, prefix string) string {
	t.Helper()
	var names []string
	for _, res := range r.rm.Resources() {
		if res.GetKind() == kind && strings.HasPrefix(res.GetName(), prefix) {
			names = append(names, res.GetName())
		}
	}
	require.Len(t, names, 1, "%s %s*", kind, prefix)
	return names[0]
}

func (c container) env(name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func (c container) port(name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func TestKustomize_Deployments(t *testing.T) {
	root := repoRoot(t)
	r := renderOverlay(t)
	for _, res := range r.rm.Resources() {
		if res.GetKind() != "Namespace" {
			assert.Equal(t, "courierhook", res.GetNamespace(), "%s %s namespace", res.GetKind(), res.GetName())
		}
	}
	cmName := r.named(t, "ConfigMap", "courierhook-config-")
	var cm configMap
	r.get(t, "ConfigMap", cmName, &cm)
	assert.Equal(t, "my-cluster-kafka-bootstrap.kafka.svc:9092", cm.Data["KAFKA_BROKERS"], "overlay merges its brokers")
	assert.Equal(t, "json", cm.Data["LOG_FORMAT"], "base keys survive the merge")
	readers := map[string]bool{}
	for _, svc := range Services {
		for k := range serviceEnv(t, root, svc) {
			readers[k] = true
		}
	}
	for k := range cm.Data {
		assert.True(t, readers[k], "ConfigMap key %s is read by no service", k)
	}

	for _, name := range Services {
		t.Run(name, func(t *testing.T) {
			var d deployment
			r.get(t, workloadKind(name), name, &d)
			assert.Nil(t, d.Spec.Replicas, "the autoscaler owns the replica count")
			for k, v := range d.Spec.Selector.MatchLabels {
				assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "selector matches the pod labels")
			}
			require.Len(t, d.Spec.Template.Spec.Containers, 1)
			c := d.Spec.Template.Spec.Containers[0]
			assert.Equal(t, "ghcr.io/example/courierhook-"+name+":0.1.0", c.Image, "overlay image")

			// Probes hit the ops server on the port its *_OPS_ADDR binds; the
			// pod binds it on every interface explicitly (the default is
			// loopback, which the kubelet cannot reach).
			opsHost, opsPort, err := net.SplitHostPort(c.env(strings.ToUpper(name) + "_OPS_ADDR"))
			require.NoError(t, err)
			assert.Equal(t, "0.0.0.0", opsHost, "probes reach the ops server on the pod IP")
			assert.Equal(t, opsPort, strconv.Itoa(c.port("ops")))
			require.NotNil(t, c.LivenessProbe, "liveness probe")
			require.NotNil(t, c.ReadinessProbe, "readiness probe")
			require.NotNil(t, c.LivenessProbe.HTTPGet)
			require.NotNil(t, c.ReadinessProbe.HTTPGet)
			assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
			assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
			assert.Equal(t, "ops", c.LivenessProbe.HTTPGet.Port)
			assert.Equal(t, "ops", c.ReadinessProbe.HTTPGet.Port)

			for _, k := range []string{"cpu", "memory"} {
				assert.NotEmpty(t, c.Resources.Requests[k], "requests.%s", k)
			}
			assert.NotEmpty(t, c.Resources.Limits["memory"], "limits.memory")

			declared := serviceEnv(t, root, name)
			for _, e := range c.Env {
				assert.True(t, declared[e.Name] || e.Name == "GOMEMLIMIT", "%s sets %s, which it does not read", name, e.Name)
			}
			var cmRef bool
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					assert.Equal(t, cmName, ef.ConfigMapRef.Name, "hashed ConfigMap name rewritten")
					cmRef = true
				}
			}
			assert.True(t, cmRef, "config from the ConfigMap")
		})
	}

	var gw deployment
	r.get(t, "StatefulSet", "gateway", &gw)
	secretName := r.named(t, "Secret", "gateway-providers-")
	var secretRef bool
	for _, ef := range gw.Spec.Template.Spec.Containers[0].EnvFrom {
		if ef.SecretRef != nil && ef.SecretRef.Name == secretName {
			secretRef = true
		}
	}
	assert.True(t, secretRef, "gateway takes provider secrets from Secret %s", secretName)
	var secret struct{ Data map[string]string }
	r.get(t, "Secret", secretName, &secret)
	for _, k := range []string{"GATEWAY_KIRIMINAJA_API_KEY", "GATEWAY_DASH_AUTH_HEADER", "GATEWAY_DASH_AUTH_VALUE", "GATEWAY_KOMERCE_TOKEN", "GATEWAY_SENDSTACK_APP_SECRET"} {
		assert.Contains(t, secret.Data, k)
	}
	spool := gw.Spec.Template.Spec.Containers[0].env("GATEWAY_SPOOL_DIR")
	var mounted bool
	for _, m := range gw.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounted = mounted || m.MountPath == spool
	}
	assert.True(t, mounted, "the spool directory %q is a volume", spool)

	var disp deployment
	r.get(t, workloadKind("dispatcher"), "dispatcher", &disp)
	routesCM := r.named(t, "ConfigMap", "dispatcher-routes-")
	var routes configMap
	r.get(t, "ConfigMap", routesCM, &routes)
	assert.Contains(t, routes.Data["routes.yaml"], "routes:")
	var routesVol bool
	for _, v := range disp.Spec.Template.Spec.Volumes {
		routesVol = routesVol || (v.ConfigMap != nil && v.ConfigMap.Name == routesCM)
	}
	assert.True(t, routesVol, "dispatcher mounts the routes ConfigMap")
	routesFile := disp.Spec.Template.Spec.Containers[0].env("DISPATCHER_ROUTES_FILE")
	assert.Equal(t, "routes.yaml", filepath.Base(routesFile))
}

func TestKustomize_Availability(t *testing.T) {
	r := renderOverlay(t)
	for _, name := range Services {
		var d deployment
		r.get(t, workloadKind(name), name, &d)
		var p pdb
		r.get(t, "PodDisruptionBudget", name, &p)
		assert.True(t, p.Spec.MaxUnavailable != nil || p.Spec.MinAvailable != nil, "%s PDB sets a budget", name)
		assert.Equal(t, d.Spec.Selector.MatchLabels, p.Spec.Selector.MatchLabels, "%s PDB selects the Deployment's pods", name)
	}
}

func TestKustomize_Autoscaling(t *testing.T) {
	root := repoRoot(t)
	r := renderOverlay(t)

	var h hpa
	r.get(t, "HorizontalPodAutoscaler", "gateway", &h)
	assert.Equal(t, "StatefulSet", h.Spec.ScaleTargetRef.Kind)
	assert.Equal(t, "gateway", h.Spec.ScaleTargetRef.Name)
	assert.GreaterOrEqual(t, h.Spec.MinReplicas, 2, "no single gateway pod")
	assert.Equal(t, 20, h.Spec.MaxReplicas, "overlay patch applied")
	assert.NotEmpty(t, h.Spec.Metrics)

	var cm configMap
	r.get(t, "ConfigMap", r.named(t, "ConfigMap", "courierhook-config-"), &cm)
	cases := map[string]struct{ topic, groupVar string }{
		"normalizer": {schemas.TopicRaw, "NORMALIZER_GROUP"},
		"dispatcher": {schemas.TopicCanonical, "DISPATCHER_GROUP"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var so scaledObject
			r.get(t, "ScaledObject", name, &so)
			assert.Equal(t, name, so.Spec.ScaleTargetRef.Name)
			assert.GreaterOrEqual(t, so.Spec.MinReplicaCount, 1)
			assert.LessOrEqual(t, so.Spec.MaxReplicaCount, 12, "no more consumers than partitions")
			assert.Greater(t, so.Spec.MaxReplicaCount, so.Spec.MinReplicaCount)
			require.Len(t, so.Spec.Triggers, 1)
			tr := so.Spec.Triggers[0]
			assert.Equal(t, "kafka", tr.Type)
			assert.Equal(t, tc.topic, tr.Metadata["topic"])
			assert.Equal(t, cm.Data["KAFKA_BROKERS"], tr.Metadata["bootstrapServers"], "KEDA reads the same brokers")
			lag, err := strconv.Atoi(tr.Metadata["lagThreshold"])
			require.NoError(t, err, "lagThreshold")
			assert.Positive(t, lag)

			// The trigger watches the group the service really joins: its default,
			// and what the Deployment sets.
			var d deployment
			r.get(t, workloadKind(name), name, &d)
			def := envDefault(t, goSource(t, root, name), tc.groupVar)
			assert.Equal(t, def, tr.Metadata["consumerGroup"], "%s default", tc.groupVar)
			assert.Equal(t, def, d.Spec.Template.Spec.Containers[0].env(tc.groupVar))
		})
	}
}

// Finding (issue 13, medium): the gateway's spool was an emptyDir, so a pod
// removed while Kafka was down lost webhooks it had acknowledged. The durable
// option is the default: a StatefulSet with a claim per pod, kept on scale-in,
// and a grace period that covers the HTTP drain plus the spool drain.
func TestKustomize_GatewaySpoolIsDurable(t *testing.T) {
	root := repoRoot(t)
	r := renderOverlay(t)
	for _, res := range r.rm.Resources() {
		assert.False(t, res.GetKind() == "Deployment" && res.GetName() == "gateway", "the gateway is not a Deployment")
	}
	var gw deployment
	r.get(t, "StatefulSet", "gateway", &gw)
	c := gw.Spec.Template.Spec.Containers[0]
	spoolDir := c.env("GATEWAY_SPOOL_DIR")
	require.NotEmpty(t, spoolDir)
	var volume string
	for _, m := range c.VolumeMounts {
		if m.MountPath == spoolDir {
			volume = m.Name
		}
	}
	require.NotEmpty(t, volume, "the spool directory is mounted")
	for _, v := range gw.Spec.Template.Spec.Volumes {
		assert.NotEqual(t, volume, v.Name, "the spool is not a pod volume (emptyDir dies with the pod)")
	}
	var claimed bool
	for _, vct := range gw.Spec.VolumeClaimTemplates {
		if vct.Metadata.Name == volume {
			claimed = true
			assert.Contains(t, vct.Spec.AccessModes, "ReadWriteOnce")
			assert.NotEmpty(t, vct.Spec.Resources.Requests["storage"])
		}
	}
	assert.True(t, claimed, "the spool volume %q is a PersistentVolumeClaim per pod", volume)
	require.NotNil(t, gw.Spec.PVCRetention)
	assert.Equal(t, "Retain", gw.Spec.PVCRetention.WhenScaled, "scale-in keeps a removed pod's spool")
	assert.Equal(t, "Retain", gw.Spec.PVCRetention.WhenDeleted)
	var governing service
	r.get(t, "Service", gw.Spec.ServiceName, &governing)
	assert.Equal(t, "None", governing.Spec.ClusterIP, "the governing Service is headless")

	shutdown, err := time.ParseDuration(envDefault(t, goSource(t, root, "gateway"), "GATEWAY_SHUTDOWN_TIMEOUT"))
	require.NoError(t, err)
	// preStop pause + HTTP drain + spool drain, each step up to the timeout.
	assert.GreaterOrEqual(t, time.Duration(gw.Spec.Template.Spec.TerminationGracePeriodSeconds)*time.Second, 5*time.Second+2*shutdown)
}

// Finding (issue 13, low): the ops endpoints were on the gateway's Service
// beside the webhook port. Each service's ops port has its own Service; the
// webhook Service carries only webhooks.
func TestKustomize_OpsHaveTheirOwnService(t *testing.T) {
	r := renderOverlay(t)
	var web service
	r.get(t, "Service", "gateway", &web)
	require.NotEmpty(t, web.Spec.Ports)
	for _, p := range web.Spec.Ports {
		assert.NotEqual(t, "ops", p.TargetPort, "the webhook Service exposes no ops port")
		assert.NotEqual(t, 9091, p.Port)
	}
	for _, name := range Services {
		var d deployment
		r.get(t, workloadKind(name), name, &d)
		var ops service
		r.get(t, "Service", name+"-ops", &ops)
		assert.Equal(t, d.Spec.Selector.MatchLabels, ops.Spec.Selector, "%s-ops selects the pods", name)
		require.Len(t, ops.Spec.Ports, 1)
		assert.Equal(t, "ops", ops.Spec.Ports[0].TargetPort)
		assert.Equal(t, d.Spec.Template.Spec.Containers[0].port("ops"), ops.Spec.Ports[0].Port)
	}
}

// Finding (issue 13, low): the ops listeners bound every interface by default.
// Each service's own default is loopback; only the containers open it.
func TestOpsAddrDefaultsAreLoopback(t *testing.T) {
	root := repoRoot(t)
	for _, name := range Services {
		def := envDefault(t, goSource(t, root, name), strings.ToUpper(name)+"_OPS_ADDR")
		host, _, err := net.SplitHostPort(def)
		require.NoError(t, err, "%s default %q", name, def)
		assert.Equal(t, "127.0.0.1", host, "%s_OPS_ADDR default", strings.ToUpper(name))
	}
}
