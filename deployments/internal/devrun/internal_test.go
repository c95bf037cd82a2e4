package devrun

import (
	"bytes"
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

func TestConfig_Defaults(t *testing.T) {
	c := Config{KafkaPort: 19092, RedisPort: 16379, SinkPort: 18090, Partitions: 12, BinDir: "bin",
		GatewayAddr: "127.0.0.1:8080", ReadyTimeout: 1, StopTimeout: 1, RoutesFile: "x"}
	require.NoError(t, c.Validate())
	c.Partitions = 0
	c.BinDir = ""
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DEVRUN_PARTITIONS")
	assert.Contains(t, err.Error(), "DEVRUN_BIN_DIR", "every bad value is reported, not only the first")
}
