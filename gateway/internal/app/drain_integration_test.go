package app_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/app"
	"github.com/courierhook/pipeline/gateway/internal/spool"
)

// Finding (issue 13, medium): a gateway pod removed while its spool holds
// records must hand them to Kafka before it exits when Kafka is reachable:
// on SIGTERM (here: the run context ends) the forwarder keeps draining after
// the HTTP drain. Before, it stopped at once and the records waited on the
// pod's volume for a next start that a scale-in never brings.
func TestIntegrationShutdownDrainsSpoolWhileKafkaIsReachable(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 3)
	dir := t.TempDir()
	fd := &faultDialer{}
	env := testEnv(k.Brokers, topic, dir)
	env["GATEWAY_ACK_TIMEOUT"] = "300ms"
	cfg, err := app.LoadConfig(env)
	require.NoError(t, err)
	a, err := app.New(cfg, nil, app.WithKafkaTransport(&kafka.Transport{Dial: fd.Dial, MetadataTTL: 2 * time.Second}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	url := "http://" + a.Addr()

	fd.set(true)
	const n = 20
	for i := range n {
		id := fmt.Sprintf("drain-%d", i)
		res := post(t, http.MethodPost, url+"/webhooks/komerce/"+komerceToken, komerceBody("drain", i), map[string]string{"X-Request-Id": id})
		require.Equal(t, http.StatusOK, res.Status, id)
		require.Equal(t, "spool", res.Body["durable"], id)
	}
	fd.set(false)
	cancel() // SIGTERM: Kafka is back, the spool still holds every record
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("gateway did not stop")
	}

	sp, err := spool.Open(dir, spool.Options{MaxBytes: cfg.SpoolMaxBytes, SegmentBytes: cfg.SpoolSegment}, nil)
	require.NoError(t, err)
	left := sp.Stats().Records
	require.NoError(t, sp.Close())
	assert.Zero(t, left, "the spool was drained before exit")
	got := byRequestID(k.ReadAll(t, topic, n, 30*time.Second))
	for i := range n {
		assert.Contains(t, got, fmt.Sprintf("drain-%d", i))
	}
}
