// Command dispatcher routes canonical shipment events to downstream topics and
// signed notification sinks; `dispatcher replay` re-sends dead-lettered deliveries.
package main

import (
	"context"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/lifecycle"
	"github.com/courierhook/pipeline/platform/logging"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	lc, err := config.Load[logging.Config]()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dispatcher:", err)
		os.Exit(1)
	}
	log, err := logging.New("dispatcher", lc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dispatcher:", err)
		os.Exit(1)
	}
	ctx, stop := lifecycle.SignalContext(context.Background(), log)
	err = run(ctx, log)
	stop()
	if err != nil {
		log.Error("dispatcher failed", zap.Error(err))
	}
	_ = log.Sync()
	if err != nil {
		os.Exit(1)
	}
}
