package main

import (
	"context"
	"io"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/gateway/internal/app"
	"github.com/courierhook/pipeline/platform/lifecycle"
	"github.com/courierhook/pipeline/platform/logging"
)

// loadConfig reads the configuration: the environment and the providers file.
func loadConfig() (app.Config, error) { return app.LoadConfig(nil) }

func logConfig(c app.Config) logging.Config { return c.Log }

// serve runs the service until SIGINT/SIGTERM and a clean drain (exit 0).
func serve(ctx context.Context, stderr io.Writer) int {
	return lifecycle.Serve(ctx, "gateway", version, stderr, loadConfig, logConfig,
		func(ctx context.Context, cfg app.Config, log *zap.Logger) error {
			a, err := app.New(cfg, log)
			if err != nil {
				return err
			}
			return a.Run(ctx)
		})
}

// requeueQuarantine re-sends the quarantined spool records (README "Spool"):
// exit 0 when all were re-sent, 1 at the first one Kafka still refuses.
func requeueQuarantine(ctx context.Context, stderr io.Writer) int {
	return lifecycle.Serve(ctx, "gateway", version, stderr, loadConfig, logConfig, app.RequeueQuarantine)
}
