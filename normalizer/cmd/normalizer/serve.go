package main

import (
	"context"
	"io"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/app"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/lifecycle"
	"github.com/courierhook/pipeline/platform/logging"
)

// serve runs the service until SIGINT/SIGTERM and a clean drain (exit 0).
func serve(ctx context.Context, stderr io.Writer) int {
	return lifecycle.Serve(ctx, "normalizer", version, stderr, config.Load[app.Config],
		func(c app.Config) logging.Config { return c.Log },
		func(ctx context.Context, cfg app.Config, log *zap.Logger) error {
			a, err := app.New(ctx, cfg, log)
			if err != nil {
				return err
			}
			return a.Run(ctx)
		})
}
