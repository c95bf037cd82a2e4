package app_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/app"
	"github.com/courierhook/pipeline/platform/config"
)

// TestConfig_defaults: the defaults alone are a valid configuration, and the
// ops listener defaults to the normalizer's loopback port of the services'
// scheme (gateway 9091, normalizer 9094, dispatcher 9095), so the three run side
// by side on one host.
func TestConfig_defaults(t *testing.T) {
	cfg, err := config.LoadFrom[app.Config](map[string]string{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9094", cfg.OpsAddr)
	assert.NotEmpty(t, cfg.Kafka.Brokers, "Kafka: the platform broker config")
}

// TestConfig_validateNamesEveryProblem: Validate reports every bad variable at
// once (errors.Join), not only the first.
func TestConfig_validateNamesEveryProblem(t *testing.T) {
	_, err := config.LoadFrom[app.Config](map[string]string{
		"NORMALIZER_CANONICAL_TOPIC": "webhooks.raw.v1", // same as the raw topic
		"NORMALIZER_BATCH_SIZE":      "0",
		"NORMALIZER_LOOKUP":          "maybe",
	})
	require.Error(t, err)
	assert.True(t, errors.Is(err, config.ErrInvalid))
	for _, name := range []string{"NORMALIZER_CANONICAL_TOPIC", "NORMALIZER_BATCH_SIZE", "NORMALIZER_LOOKUP"} {
		assert.Contains(t, err.Error(), name)
	}
}
