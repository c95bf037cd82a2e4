package deliver_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/deliver"
	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/platform/broker"
)

func TestNew_RejectsWhatCannotRun(t *testing.T) {
	f, err := route.Parse([]byte("sinks:\n  s: {kind: kafka, topic: down}\nroutes:\n  - {match: {always: true}, to: [s]}\n"),
		func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	tiers, err := retry.NewTiers("retry.", testDelays, 0)
	require.NoError(t, err)
	pub := retry.NewPublisher(&recordingWriter{}, tiers, "dlq")
	good := deliver.Config{Kafka: broker.Config{Brokers: []string{"127.0.0.1:9092"}}, Topic: "t", Group: "g",
		MaxInFlight: 10, CommitInterval: time.Second, ShutdownTimeout: time.Second}
	sinks := map[string]deliver.Sink{"s": &recordingSink{}}

	_, err = deliver.New(good, f, sinks, pub, nil, nil)
	require.NoError(t, err)

	_, err = deliver.New(deliver.Config{}, f, sinks, pub, nil, nil)
	require.Error(t, err)
	for _, want := range []string{"brokers", "topic and group", "MaxInFlight", "CommitInterval"} {
		assert.Contains(t, err.Error(), want, "every problem is reported at once")
	}

	_, err = deliver.New(good, f, map[string]deliver.Sink{}, pub, nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `sink "s"`)
}
