package app_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// buildGateway compiles cmd/gateway into a temp dir.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gateway")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

type proc struct {
	cmd      *exec.Cmd
	url, ops string
	log      *os.File
}

func startProc(t *testing.T, bin string, env map[string]string) *proc {
	t.Helper()
	p := &proc{url: "http://" + env["GATEWAY_ADDR"], ops: "http://" + env["GATEWAY_OPS_ADDR"]}
	var err error
	p.log, err = os.CreateTemp(t.TempDir(), "gateway-*.log")
	require.NoError(t, err)
	p.cmd = exec.Command(bin)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.Env = append(os.Environ(), "LOG_LEVEL=info")
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	require.Eventually(t, func() bool {
		res, err := http.Get(p.ops + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "gateway did not become ready")
	return p
}

func (p *proc) logs(t *testing.T) string {
	b, err := os.ReadFile(p.log.Name())
	require.NoError(t, err)
	return string(b)
}

func TestIntegrationSIGKILLWithFullSpoolLosesNothing(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 3)
	bin := buildGateway(t)
	spoolDir := t.TempDir()

	env := testEnv([]string{freeAddr(t)}, topic, spoolDir) // nothing listens there: Kafka is "down"
	env["GATEWAY_ADDR"], env["GATEWAY_OPS_ADDR"] = freeAddr(t), freeAddr(t)
	env["GATEWAY_ACK_TIMEOUT"] = "300ms"
	p := startProc(t, bin, env)

	const perKey = 15
	keys := []string{"kill-a", "kill-b", "kill-c"}
	for seq := range perKey {
		for _, key := range keys {
			id := fmt.Sprintf("%s-%d", key, seq)
			res := post(t, http.MethodPut, p.url+"/webhooks/komerce/"+komerceToken, komerceBody(key, seq), map[string]string{"X-Request-Id": id})
			require.Equal(t, http.StatusOK, res.Status, "%s: %v", id, res.Body)
			require.Equal(t, "spool", res.Body["durable"], id)
		}
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	_ = p.cmd.Wait()

	// A crash mid-append leaves a torn frame: simulate one at the spool's tail.
	segs, err := filepath.Glob(filepath.Join(spoolDir, "seg-*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, segs)
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	env["KAFKA_BROKERS"] = strings.Join(k.Brokers, ",")
	env["GATEWAY_ADDR"], env["GATEWAY_OPS_ADDR"] = freeAddr(t), freeAddr(t)
	p2 := startProc(t, bin, env)

	msgs := k.ReadAll(t, topic, len(keys)*perKey, 60*time.Second)
	checkOrder(t, msgs, keys, perKey)
	for _, m := range msgs {
		v, _ := header(m, "spooled")
		assert.Equal(t, "true", v)
	}
	require.Eventually(t, func() bool {
		d := getJSON(t, p2.ops+"/readyz")["checks"].(map[string]any)["spool"].(map[string]any)["detail"].(map[string]any)
		return d["records"].(float64) == 0
	}, 30*time.Second, 50*time.Millisecond)
	assert.Contains(t, p2.logs(t), "dropping its tail", "the torn frame was truncated")

	// Graceful stop: SIGTERM drains and exits 0.
	require.NoError(t, p2.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p2.cmd.Wait())
	assert.Contains(t, p2.logs(t), "gateway stopped")
}
