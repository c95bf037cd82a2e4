// Command gateway receives courier webhooks and makes each one a durable raw
// record in Kafka (see gateway/README.md).
package main

import (
	"context"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/gateway/internal/app"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/lifecycle"
	"github.com/courierhook/pipeline/platform/logging"
)

func main() {
	logCfg, err := config.Load[logging.Config]()
	if err == nil {
		var log *zap.Logger
		if log, err = logging.New("gateway", logCfg); err == nil {
			ctx, stop := lifecycle.SignalContext(context.Background(), log)
			err = run(ctx, log)
			stop()
			_ = log.Sync()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *zap.Logger) error {
	cfg, err := config.Load[app.Config]()
	if err != nil {
		return err
	}
	if len(os.Args) > 1 && os.Args[1] == "requeue-quarantine" {
		return app.RequeueQuarantine(ctx, cfg, log)
	}
	a, err := app.New(cfg, log)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
