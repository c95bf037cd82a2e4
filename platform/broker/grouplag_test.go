package broker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
)

// TestIntegrationGroupLag commits part of a topic in a consumer group and checks
// the exported lag is what is left, summed over partitions.
func TestIntegrationGroupLag(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 3)
	group := k.Group(t)
	ctx := t.Context()

	writeKeyed(ctx, t, k, topic, 30)

	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "test_lag"}, []string{"topic"})
	go broker.ExportGroupLag(ctx, k.Config(), group, []string{topic}, g, 100*time.Millisecond, nil)
	// The exporter's cached cluster metadata may predate the topic for a moment:
	// a failed round keeps the gauge unset and the next one reads it afresh.
	require.Eventually(t, func() bool { return testutil.ToFloat64(g.WithLabelValues(topic)) == 30 },
		30*time.Second, 20*time.Millisecond, "a group without commits owes everything")

	r := broker.NewReader(k.Config(), group, []string{topic}, nil, broker.ReaderOptions{})
	defer r.Close()
	var read []kafka.Message
	for range 12 {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		m, err := r.FetchMessage(fctx)
		cancel()
		require.NoError(t, err)
		read = append(read, m)
	}
	require.NoError(t, r.CommitMessages(ctx, broker.LastPerPartition(read)...))
	require.Eventually(t, func() bool { return testutil.ToFloat64(g.WithLabelValues(topic)) == 18 },
		10*time.Second, 20*time.Millisecond, "lag is what the group has not committed")
}

// writeKeyed writes n records keyed k0..k<n-1> (spread over the partitions by
// Murmur2) to topic.
func writeKeyed(ctx context.Context, t *testing.T, k *testkit.KafkaEnv, topic string, n int) {
	t.Helper()
	w := broker.NewWriter(k.Config(), topic, nil, broker.WriterOptions{})
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte("k" + strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}
	}
	require.NoError(t, w.WriteMessages(ctx, msgs...))
	require.NoError(t, w.Close())
}
