package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/gateway/internal/app"
	"github.com/courierhook/pipeline/gateway/internal/spool"
	"github.com/courierhook/pipeline/platform/broker"
)

// `gateway requeue-quarantine` re-sends a quarantined record, whole, and
// removes it from the quarantine only after Kafka acked it.
func TestIntegrationRequeueQuarantine_ResendsAndRemoves(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 1)
	dir := t.TempDir()
	sp, err := spool.Open(dir, spool.Options{}, nil)
	require.NoError(t, err)
	rec := spool.Record{Key: []byte("k"), Value: []byte(`{"big":true}`),
		Headers: []spool.Header{{Key: "request_id", Value: []byte("req-1")}}}
	require.NoError(t, sp.Append(t.Context(), rec))
	entries, err := sp.ReadBatch(10, 1<<20)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	_, err = sp.Quarantine(entries[0], "[10] Message Size Too Large")
	require.NoError(t, err)
	require.Equal(t, int64(0), sp.Len())
	require.NoError(t, sp.Close())
	require.Len(t, spool.QuarantinedFiles(dir), 1)

	cfg := app.Config{Kafka: broker.Config{Brokers: k.Brokers}, Topic: topic, SpoolDir: dir, MaxBatchBytes: 1 << 20}
	require.NoError(t, app.RequeueQuarantine(t.Context(), cfg, zap.NewNop()))
	msgs := k.ReadAll(t, topic, 1, 20*time.Second)
	require.Len(t, msgs, 1)
	assert.Equal(t, "k", string(msgs[0].Key))
	assert.Equal(t, `{"big":true}`, string(msgs[0].Value))
	v, ok := header(msgs[0], "request_id")
	assert.True(t, ok)
	assert.Equal(t, "req-1", v)
	assert.Empty(t, spool.QuarantinedFiles(dir))
}
