package devrun

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrefixWriter_WholeLinesOnly(t *testing.T) {
	var out bytes.Buffer
	lw := &lockedWriter{w: &out}
	p := newPrefixWriter("gateway", 10, lw)
	_, err := p.Write([]byte("first li"))
	require.NoError(t, err)
	assert.Empty(t, out.String(), "a partial line waits for its newline")
	_, _ = p.Write([]byte("ne\nsecond\nthi"))
	assert.Equal(t, "gateway    | first line\ngateway    | second\n", out.String())
	require.NoError(t, p.Sync())
	assert.True(t, strings.HasSuffix(out.String(), "gateway    | thi\n"), "Sync flushes the tail")
}

func TestVerifyStandardWebhook(t *testing.T) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(SinkSecret, "whsec_"))
	require.NoError(t, err)
	body := []byte(`{"id":"x"}`)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("msg_1.1700000000." + string(body)))
	sig := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))

	assert.NoError(t, verifyStandardWebhook(key, "msg_1", "1700000000", "v1,bm9wZQ== "+sig, body), "any listed signature may match")
	assert.ErrorIs(t, verifyStandardWebhook(key, "msg_1", "1700000001", sig, body), errSignature, "timestamp is signed")
	assert.ErrorIs(t, verifyStandardWebhook(key, "msg_1", "1700000000", sig, []byte(`{}`)), errSignature, "body is signed")
	assert.Error(t, verifyStandardWebhook(key, "", "1700000000", sig, body), "id required")
}

func TestConfig_Defaults(t *testing.T) {
	c := Config{KafkaPort: 19092, RedisPort: 16379, SinkPort: 18090, Partitions: 12, BinDir: "bin",
		GatewayAddr: "127.0.0.1:8080", ReadyTimeout: 1, StopTimeout: 1, RoutesFile: "x"}
	require.NoError(t, c.Validate())
	c.Partitions = 0
	assert.Error(t, c.Validate())
}
