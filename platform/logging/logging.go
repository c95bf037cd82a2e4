// Package logging builds the zap loggers every service uses: JSON lines in
// production, a readable console encoder for local runs.
package logging

import (
	"fmt"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config selects the log level and encoding.
type Config struct {
	Level  string `env:"LOG_LEVEL" envDefault:"info"`
	Format string `env:"LOG_FORMAT" envDefault:"json"` // json | console
}

// New returns a logger for service, with the service name attached to every line.
func New(service string, cfg Config) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(strings.ToLower(cfg.Level))
	if err != nil {
		return nil, fmt.Errorf("parsing LOG_LEVEL: %w", err)
	}
	var zc zap.Config
	switch strings.ToLower(cfg.Format) {
	case "", "json":
		zc = zap.NewProductionConfig()
		zc.EncoderConfig.TimeKey = "ts"
		zc.EncoderConfig.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	case "console":
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	default:
		return nil, fmt.Errorf("unknown LOG_FORMAT %q (want json or console)", cfg.Format)
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	// Sampling would silently drop per-record lines an operator may need to audit.
	zc.Sampling = nil
	zc.DisableStacktrace = level > zapcore.DebugLevel
	log, err := zc.Build()
	if err != nil {
		return nil, fmt.Errorf("building logger: %w", err)
	}
	return log.With(zap.String("service", service)), nil
}
