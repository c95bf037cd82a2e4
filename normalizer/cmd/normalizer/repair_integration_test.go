package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas"
)

// TestIntegrationRedrive_interruptedPublishesNotRunning stops a `normalizer
// redrive` half way by cancelling its context, as SIGINT/SIGTERM do, and checks
// that its last published progress says it is no longer running (else
// normalizer_repair_running stays 1 and RepairRunStalled fires) and carries the
// counts where it stopped, and that the progress line shows its position.
func TestIntegrationRedrive_interruptedPublishesNotRunning(t *testing.T) {
	k, r := testkit.Kafka(t), testkit.Redis(t)
	raw, dlq := k.Topic(t, 1), k.Topic(t, 1)
	t.Setenv("KAFKA_BROKERS", strings.Join(k.Brokers, ","))
	t.Setenv("REDIS_ADDR", r.Addr)
	t.Setenv("NORMALIZER_REDIS_PREFIX", r.Prefix)
	t.Setenv("NORMALIZER_RAW_TOPIC", raw)
	t.Setenv("NORMALIZER_DLQ_TOPIC", dlq)

	// 300 dead letters: the command's first batch (200) is redriven, and it is
	// stopped while mapping the second.
	w := broker.NewWriter(k.Config(), dlq, nil, broker.WriterOptions{})
	msgs := make([]kafka.Message, 300)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprint(i)), Value: []byte(`{}`), Headers: []kafka.Header{
			{Key: schemas.HeaderProvider, Value: []byte("testco")},
			{Key: schemas.HeaderDLQReason, Value: []byte("unsupported_payload")},
		}}
	}
	require.NoError(t, w.WriteMessages(t.Context(), msgs...))
	require.NoError(t, w.Close())

	key := r.Prefix + "rp:" + repair.CommandRedrive
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls, runningWhenStopped := 0, ""
	normalize := func(adapter.RawRecord) ([]adapter.Output, error) {
		calls++
		if calls == 201 {
			runningWhenStopped = r.Client.HGet(t.Context(), key, "running").Val()
			cancel()
		}
		return []adapter.Output{{}}, nil
	}
	var stderr bytes.Buffer
	require.Equal(t, 1, redrive(ctx, nil, &stderr, normalize), stderr.String())
	require.Equal(t, "true", runningWhenStopped, "after its first batch the run reports itself running")

	h, err := r.Client.HGetAll(t.Context(), key).Result()
	require.NoError(t, err)
	assert.Equal(t, "false", h["running"], "the interrupted run's last progress says it is not running")
	assert.Equal(t, "200", h["c:redriven"], "its counts are those where it stopped")
	assert.Equal(t, "300", h["c:read"])
	out := stderr.String()
	assert.Contains(t, out, "66% 200/300  read=300  selected=300  redriven=200", "the progress line shows the position where it stopped")
	assert.Contains(t, out, "redrive stopped:")
	assert.Contains(t, out, context.Canceled.Error())
}
