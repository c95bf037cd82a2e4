package main

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/gateway/internal/app"
	"github.com/courierhook/pipeline/platform/lifecycle"
	"github.com/courierhook/pipeline/platform/logging"
)

// serve runs the service until SIGINT/SIGTERM and a clean drain (exit 0).
func serve(ctx context.Context, stderr io.Writer) int {
	ctx, cfg, log, done, ok := start(ctx, stderr)
	if !ok {
		return 1
	}
	defer done()
	a, err := app.New(cfg, log)
	if err != nil {
		log.Error("starting gateway", zap.Error(err))
		return 1
	}
	if err := a.Run(ctx); err != nil {
		log.Error("gateway stopped with an error", zap.Error(err))
		return 1
	}
	return 0
}

// requeueQuarantine re-sends the quarantined spool records (README "Spool"):
// exit 0 when all were re-sent, 1 at the first one Kafka still refuses.
func requeueQuarantine(ctx context.Context, stderr io.Writer) int {
	ctx, cfg, log, done, ok := start(ctx, stderr)
	if !ok {
		return 1
	}
	defer done()
	if err := app.RequeueQuarantine(ctx, cfg, log); err != nil {
		log.Error("requeue-quarantine failed", zap.Error(err))
		return 1
	}
	return 0
}

// start loads the configuration (environment and providers file), builds the
// logger it names and ties ctx to SIGINT/SIGTERM. A configuration or logger
// error is written to stderr and ok is false. done stops the signal handling
// and flushes the log.
func start(ctx context.Context, stderr io.Writer) (_ context.Context, _ app.Config, _ *zap.Logger, done func(), ok bool) {
	cfg, err := app.LoadConfig(nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ctx, cfg, nil, nil, false
	}
	log, err := logging.New("gateway", cfg.Log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ctx, cfg, nil, nil, false
	}
	ctx, stop := lifecycle.SignalContext(ctx, log)
	log.Info("gateway starting", zap.String("version", version))
	return ctx, cfg, log, func() { stop(); _ = log.Sync() }, true
}
