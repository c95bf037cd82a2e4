// Command gateway receives courier webhooks and makes each one a durable raw
// record in Kafka (see gateway/README.md). `gateway requeue-quarantine`
// re-sends the records Kafka refused for good.
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

// version is set at build time (Makefile: -ldflags "-X main.version=...").
var version = "dev"

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

// run loads the configuration and serves, or runs the subcommand named by the
// first argument.
func run(ctx context.Context, log *zap.Logger) error {
	cfg, err := app.LoadConfig(nil)
	if err != nil {
		return err
	}
	log.Info("gateway starting", zap.String("version", version))
	if len(os.Args) > 1 && os.Args[1] == "requeue-quarantine" {
		return app.RequeueQuarantine(ctx, cfg, log)
	}
	a, err := app.New(cfg, log)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
