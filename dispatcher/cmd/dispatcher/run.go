package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/app"
	"github.com/courierhook/pipeline/platform/config"
)

// run loads the configuration and runs the dispatcher, or the replay subcommand
// named by the first argument.
func run(ctx context.Context, log *zap.Logger) error {
	args := os.Args[1:]
	cfg, err := config.Load[app.Config]()
	if err != nil {
		return err
	}
	log.Info("configuration", zap.String("version", version), zap.Any("config", config.Masked(cfg)))
	if len(args) > 0 && args[0] == "replay" {
		return replay(ctx, cfg, log, args[1:])
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q (want no argument, or replay)", args[0])
	}
	a, err := app.New(cfg, log)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func replay(ctx context.Context, cfg app.Config, log *zap.Logger, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	sinkName := fs.String("sink", "", "replay only deliveries for this sink (default: all)")
	since := fs.String("since", "", "only deliveries dead-lettered at or after this RFC 3339 time")
	until := fs.String("until", "", "only deliveries dead-lettered before this RFC 3339 time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := app.ReplayOptions{Sink: *sinkName, Progress: os.Stdout}
	var errs []error
	for _, f := range []struct {
		v   string
		dst *time.Time
	}{{*since, &opts.Since}, {*until, &opts.Until}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.v)
		errs = append(errs, err)
		*f.dst = t
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("parsing --since/--until: %w", err)
	}
	cfg.OpsAddr = ""
	a, err := app.New(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.Replay(ctx, opts)
	fmt.Printf("replay done: total=%d ok=%d failed=%d duplicates_skipped=%d\n", res.Total, res.OK, res.Failed, res.Duplicates)
	if err == nil && res.Failed > 0 {
		err = fmt.Errorf("%d deliveries failed", res.Failed)
	}
	return err
}
