package broker_test

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
)

func TestLastPerPartition(t *testing.T) {
	msgs := []kafka.Message{
		{Topic: "a", Partition: 0, Offset: 5},
		{Topic: "a", Partition: 1, Offset: 9},
		{Topic: "a", Partition: 0, Offset: 7},
		{Topic: "b", Partition: 0, Offset: 1},
		{Topic: "a", Partition: 0, Offset: 6},
	}
	got := broker.LastPerPartition(msgs)
	assert.ElementsMatch(t, []kafka.Message{
		{Topic: "a", Partition: 0, Offset: 7},
		{Topic: "a", Partition: 1, Offset: 9},
		{Topic: "b", Partition: 0, Offset: 1},
	}, got)
	assert.Empty(t, broker.LastPerPartition(nil))
}

func TestHeader(t *testing.T) {
	m := kafka.Message{Headers: []kafka.Header{{Key: "provider", Value: []byte("dash")}, {Key: "provider", Value: []byte("x")}}}
	assert.Equal(t, "dash", string(broker.Header(m, "provider")), "first header wins")
	assert.Nil(t, broker.Header(m, "missing"))
}

func TestIntegrationEnsureTopics_Idempotent(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	name := testkit.UniqueName(t, "topic")
	spec := broker.TopicSpec{Name: name, Partitions: 4, Config: map[string]string{"retention.ms": "3600000"}}
	require.NoError(t, broker.EnsureTopics(t.Context(), k.Brokers, spec))
	require.NoError(t, broker.EnsureTopics(t.Context(), k.Brokers, spec), "an existing topic is not an error")

	conn, err := kafka.DialContext(t.Context(), "tcp", k.Brokers[0])
	require.NoError(t, err)
	defer conn.Close()
	parts, err := conn.ReadPartitions(name)
	require.NoError(t, err)
	assert.Len(t, parts, 4)
}

func TestErrorLogger_RoutineErrorsAtDebug(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	l := broker.ErrorLogger(zap.New(core))
	l.Printf("the kafka reader got an unknown error reading partition %d of %s at offset %d: %s", 0, "t", 5, "read tcp 127.0.0.1:1->127.0.0.1:9092: i/o timeout")
	l.Printf("leader not available for %s", "t")
	entries := logs.All()
	require.Len(t, entries, 2)
	assert.Equal(t, zap.DebugLevel, entries[0].Level, "a routine read timeout is debug")
	assert.Equal(t, zap.WarnLevel, entries[1].Level, "other errors stay warnings")
}

func TestNewWriter_BatchTimeout(t *testing.T) {
	cfg := broker.Config{Brokers: []string{"127.0.0.1:1"}}
	w := broker.NewWriter(cfg, "t", nil, broker.WriterOptions{})
	defer w.Close()
	assert.Equal(t, 2*time.Millisecond, w.BatchTimeout, "default")
	nl := broker.NewWriter(cfg, "t", nil, broker.WriterOptions{BatchTimeout: time.Second, NoLinger: true})
	defer nl.Close()
	assert.Equal(t, time.Nanosecond, nl.BatchTimeout, "NoLinger: positive (kafka-go reads 0 as 1 s) and overriding")
}

func TestNewReader_MaxWaitLeavesRTTAllowance(t *testing.T) {
	r := broker.NewReader(broker.Config{Brokers: []string{"127.0.0.1:1"}}, "g", []string{"t"}, nil, broker.ReaderOptions{})
	defer r.Close()
	cfg := r.Config()
	assert.Equal(t, broker.DefaultMaxWait, cfg.MaxWait)
	// kafka-go keeps 1 s of the wait for the answer's trip only when MaxWait > 1 s
	// (else MaxWait/4): below that, late answers on a busy host time connections out.
	assert.Greater(t, cfg.MaxWait, time.Second)
	assert.Equal(t, 1, cfg.MinBytes, "an answer as soon as one record is there")
}
