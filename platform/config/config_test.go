package config_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/config"
)

type inner struct {
	Brokers []string `env:"BROKERS" envSeparator:"," envDefault:"a:1"`
}

type sample struct {
	Addr     string        `env:"ADDR" envDefault:":8080"`
	Secret   string        `env:"SECRET" mask:"true"`
	Empty    string        `env:"EMPTY_SECRET" mask:"true"`
	Timeout  time.Duration `env:"TIMEOUT" envDefault:"2s"`
	Kafka    inner         `envPrefix:"KAFKA_"`
	Required int           `env:"REQUIRED" envDefault:"1"`
}

func (s *sample) Validate() error {
	return config.Check(s.Required > 0, "REQUIRED", "must be positive")
}

func TestLoadFrom(t *testing.T) {
	cfg, err := config.LoadFrom[sample](map[string]string{"SECRET": "s3cr3t", "KAFKA_BROKERS": "x:1,y:2"})
	require.NoError(t, err)
	assert.Equal(t, ":8080", cfg.Addr)
	assert.Equal(t, 2*time.Second, cfg.Timeout)
	assert.Equal(t, []string{"x:1", "y:2"}, cfg.Kafka.Brokers)

	masked := config.Masked(cfg)
	assert.Equal(t, "***", masked["SECRET"], "a set secret is masked")
	assert.Equal(t, "", masked["EMPTY_SECRET"], "an unset secret shows as empty, so operators see it is missing")
	assert.Equal(t, ":8080", masked["ADDR"])
	assert.Equal(t, "[x:1 y:2]", masked["KAFKA_BROKERS"])
	for _, v := range masked {
		assert.NotContains(t, v, "s3cr3t")
	}
}

func TestLoadFrom_Invalid(t *testing.T) {
	_, err := config.LoadFrom[sample](map[string]string{"REQUIRED": "0"})
	require.Error(t, err)
	assert.True(t, errors.Is(err, config.ErrInvalid))
	assert.Contains(t, err.Error(), "REQUIRED")

	_, err = config.LoadFrom[sample](map[string]string{"TIMEOUT": "soon"})
	require.Error(t, err, "an unparsable duration is an error, not a default")
}
