package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
)

func TestConfig_RepairTopicConfig(t *testing.T) {
	assert.Equal(t, map[string]string{"retention.ms": "2592000000"}, broker.Config{}.RepairTopicConfig(), "30 days by default")
	assert.Equal(t, map[string]string{"retention.ms": "3600000"}, broker.Config{Retention: time.Hour}.RepairTopicConfig())
}

func TestIntegrationEnsureTopics_setsRepairRetention(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	name := testkit.UniqueName(t, "topic")
	cfg := broker.Config{Brokers: k.Brokers, Retention: 36 * time.Hour}
	require.NoError(t, broker.EnsureTopics(t.Context(), k.Brokers, broker.TopicSpec{Name: name, Partitions: 1, Config: cfg.RepairTopicConfig()}))
	t.Cleanup(func() {
		c := &kafka.Client{Addr: kafka.TCP(k.Brokers...)}
		_, _ = c.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{name}})
	})
	c := &kafka.Client{Addr: kafka.TCP(k.Brokers...), Timeout: 10 * time.Second}
	resp, err := c.DescribeConfigs(t.Context(), &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: name, ConfigNames: []string{"retention.ms"},
	}}})
	require.NoError(t, err)
	require.Len(t, resp.Resources, 1)
	require.Len(t, resp.Resources[0].ConfigEntries, 1)
	assert.Equal(t, "129600000", resp.Resources[0].ConfigEntries[0].ConfigValue)
}
