package app_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/courierhook/pipeline/gateway/internal/app"
	"github.com/courierhook/pipeline/platform/config"
)

// Finding (issue 13, low): the ops listener (/metrics, /readyz) bound every
// interface by default.
func TestConfig_OpsBindsLoopbackByDefault(t *testing.T) {
	t.Parallel()
	cfg, err := app.LoadConfig(map[string]string{})
	require.NoError(t, err)
	host, _, err := net.SplitHostPort(cfg.OpsAddr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.Equal(t, 10*time.Second, cfg.BodyReadTimeout)
	assert.Positive(t, cfg.MaxConnections)
}

// Finding (issue 13, low): GATEWAY_<P>_AUTH=" none" opened the provider while
// the log said it refused everything. The log now reports what Build enforces;
// a weak Sendstack signature is logged as a warning at start.
func TestNew_LogSaysWhatIsEnforced(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	cfg, err := app.LoadConfig(map[string]string{
		"GATEWAY_PUBLISH": "false", "GATEWAY_ADDR": "127.0.0.1:0", "GATEWAY_OPS_ADDR": "127.0.0.1:0",
		"GATEWAY_KOMERCE_AUTH": " none", "GATEWAY_SENDSTACK_APP_SECRET": "new,old", "GATEWAY_SENDSTACK_SIGNATURE": "webhookid-json",
	})
	require.NoError(t, err)
	a, err := app.New(cfg, zap.New(core))
	require.NoError(t, err)
	_ = a // never Run: New has bound listeners that the process exit frees

	warned := func(msg, provider string) bool {
		for _, e := range logs.FilterMessage(msg).All() {
			if e.ContextMap()["provider"] == provider {
				return true
			}
		}
		return false
	}
	assert.True(t, warned("provider accepts UNAUTHENTICATED webhooks (auth: none)", "komerce"))
	assert.False(t, warned("provider has no secret configured; it refuses every request (fail closed)", "komerce"))
	assert.True(t, warned("provider has no secret configured; it refuses every request (fail closed)", "dash"))
	assert.Equal(t, 1, logs.FilterMessageSnippet("does not cover the body").FilterField(zap.String("provider", "sendstack")).Len())
	for _, e := range logs.All() {
		assert.NotContains(t, fmt.Sprint(e.ContextMap()), "new,old", e.Message)
	}
	// The providers line lists every provider variable, masked.
	conf := logs.FilterMessage("providers").All()
	require.Len(t, conf, 1)
	masked, ok := conf[0].ContextMap()["config"].(map[string]string)
	require.True(t, ok, "config field is the masked map")
	assert.Equal(t, "***", masked["GATEWAY_SENDSTACK_APP_SECRET"])
	assert.Equal(t, " none", masked["GATEWAY_KOMERCE_AUTH"])
	assert.Contains(t, masked, "GATEWAY_DASH_AUTH_VALUE", "an unset secret is listed (empty), so operators see it is missing")
}

// Finding (issue 13, medium): concurrent connections are capped; the next
// client waits until one closes.
func TestLimitListener_CapsConcurrentConnections(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := app.LimitListener(raw, 2)
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", raw.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
	}
	first, second := <-accepted, <-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, first.Close())
	select {
	case c := <-accepted:
		_ = c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting connection was not accepted after one closed")
	}
	_ = second.Close()
}

// Validate reports every problem at once (errors.Join), not only the first.
func TestConfig_ValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := app.LoadConfig(map[string]string{"GATEWAY_MAX_BODY_BYTES": "0", "GATEWAY_SHUTDOWN_TIMEOUT": "0s", "GATEWAY_KAFKA_COMPRESSION": "zstd"})
	require.Error(t, err)
	assert.ErrorIs(t, err, config.ErrInvalid)
	for _, name := range []string{"GATEWAY_MAX_BODY_BYTES", "GATEWAY_SHUTDOWN_TIMEOUT", "GATEWAY_KAFKA_COMPRESSION"} {
		assert.Contains(t, err.Error(), name)
	}
}
