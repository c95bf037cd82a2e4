package app_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIntegrationSIGTERMDrainsInFlightRequests sends SIGTERM to the built
// binary while requests are in flight (their handlers are running and still
// reading the body), checks that new connections are refused from then on,
// that every in-flight request still completes with 200, that its record is on
// the raw topic, and that the process exits 0.
func TestIntegrationSIGTERMDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 3)
	bin := buildGateway(t)
	env := testEnv(k.Brokers, topic, t.TempDir())
	env["GATEWAY_ADDR"], env["GATEWAY_OPS_ADDR"] = freeAddr(t), freeAddr(t)
	env["GATEWAY_ACK_TIMEOUT"] = "30s" // a loaded machine must not turn this into a spool test
	env["GATEWAY_SHUTDOWN_TIMEOUT"] = "60s"
	p := startProc(t, bin, env)

	body := readFixture(t, "dash/express_completed")
	const inflight = 3
	type conn struct {
		c  net.Conn
		br *bufio.Reader
		id string
	}
	conns := make([]conn, inflight)
	for i := range conns {
		c, err := net.Dial("tcp", env["GATEWAY_ADDR"])
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		id := fmt.Sprintf("drain-%d", i)
		// Expect: 100-continue makes the server say when the handler starts
		// reading the body: from then on this request is in flight for certain.
		_, err = fmt.Fprintf(c, "POST /webhooks/dash HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"+
			"User-Agent: courierhook-test\r\n%s: %s\r\nX-Request-Id: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
			dashHeader, dashValue, id, len(body))
		require.NoError(t, err)
		br := bufio.NewReader(c)
		status, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "HTTP/1.1 100 Continue\r\n", status)
		blank, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "\r\n", blank)
		_, err = c.Write(body[:len(body)/2]) // half the body: the handler waits for the rest
		require.NoError(t, err)
		conns[i] = conn{c: c, br: br, id: id}
	}

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	// Shutdown has started: readiness is off and the listener refuses new
	// connections, while the requests above are still waiting for their bodies.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", env["GATEWAY_ADDR"])
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	}, 30*time.Second, 20*time.Millisecond, "new connections refused after SIGTERM")
	res, err := http.Get(p.ops + "/readyz")
	if err == nil { // the ops listener stays up until the drain is over
		res.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "not ready while draining")
	}

	for _, cn := range conns {
		_, err := cn.c.Write(body[len(body)/2:])
		require.NoError(t, err)
		res, err := http.ReadResponse(cn.br, nil)
		require.NoError(t, err, cn.id)
		var ack map[string]string
		require.NoError(t, json.NewDecoder(res.Body).Decode(&ack))
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %v", cn.id, ack)
		assert.Equal(t, cn.id, res.Header.Get("X-Request-Id"))
		assert.Equal(t, "kafka", ack["durable"], cn.id)
	}
	require.NoError(t, p.cmd.Wait(), "graceful exit (status 0)")
	logs := p.logs(t)
	assert.Contains(t, logs, "gateway stopped")
	assert.False(t, strings.Contains(logs, "http drain incomplete"), "drain finished within the shutdown timeout")

	got := byRequestID(readIDs(t, k, topic, inflight, 30*time.Second))
	for _, cn := range conns {
		require.Len(t, got[cn.id], 1, "%s on the raw topic once", cn.id)
		assert.Equal(t, body, got[cn.id][0].Value, "%s byte-exact", cn.id)
	}
}
