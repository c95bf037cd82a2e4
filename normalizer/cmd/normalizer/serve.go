package main

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/app"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/lifecycle"
	"github.com/courierhook/pipeline/platform/logging"
)

// serve runs the service until SIGINT/SIGTERM and a clean drain (exit 0).
func serve(ctx context.Context, stderr io.Writer) int {
	cfg, err := config.Load[app.Config]()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log, err := logging.New("normalizer", cfg.Log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer func() { _ = log.Sync() }()
	ctx, stop := lifecycle.SignalContext(ctx, log)
	defer stop()
	log.Info("normalizer starting", zap.String("version", version))
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		log.Error("starting normalizer", zap.Error(err))
		return 1
	}
	if err := a.Run(ctx); err != nil {
		log.Error("normalizer stopped with an error", zap.Error(err))
		return 1
	}
	return 0
}
