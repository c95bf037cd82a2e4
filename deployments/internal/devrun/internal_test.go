package devrun

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
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
		GatewayAddr: "127.0.0.1:8080", ReadyTimeout: 1, StopTimeout: 1, RoutesFile: "x", RepairRetention: time.Hour}
	require.NoError(t, c.Validate())
	c.Partitions = 0
	c.BinDir = ""
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DEVRUN_PARTITIONS")
	assert.Contains(t, err.Error(), "DEVRUN_BIN_DIR", "every bad value is reported, not only the first")
}

func TestTopics_RepairRetention(t *testing.T) {
	got := map[string]string{}
	for _, s := range Topics(6, broker.Config{Retention: 48 * time.Hour}) {
		got[s.Name] = s.Config["retention.ms"]
	}
	assert.Equal(t, map[string]string{
		schemas.TopicRaw: "172800000", schemas.TopicRawDLQ: "172800000", schemas.TopicDispatchDLQ: "172800000",
		schemas.TopicCanonical: "",
	}, got, "the raw topic and the dead-letter topics keep what repair needs, as the services create them")
}
