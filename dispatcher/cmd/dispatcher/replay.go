package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/app"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/lifecycle"
)

// replay re-sends the dead-lettered deliveries the flags select (README
// "Replay"). Exit codes: 0 all sent, 1 failed (or any delivery failed), 2 bad
// usage.
func replay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sinkName := fs.String("sink", "", "replay only deliveries for this sink (default: all)")
	since := fs.String("since", "", "only deliveries dead-lettered at or after this RFC 3339 time")
	until := fs.String("until", "", "only deliveries dead-lettered before this RFC 3339 time")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	opts := app.ReplayOptions{Sink: *sinkName, Progress: stdout}
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
		fmt.Fprintf(stderr, "parsing --since/--until: %v\n%s\n", err, usage)
		return 2
	}
	svc, ok := lifecycle.Start(ctx, "dispatcher", version, stderr, config.Load[app.Config], logConfig)
	if !ok {
		return 1
	}
	defer svc.Done()
	ctx, cfg, log := svc.Ctx, svc.Cfg, svc.Log
	cfg.OpsAddr = ""
	a, err := app.New(cfg, log)
	if err != nil {
		log.Error("starting dispatcher", zap.Error(err))
		return 1
	}
	defer a.Close()
	res, err := a.Replay(ctx, opts)
	fmt.Fprintf(stdout, "replay done: total=%d ok=%d failed=%d duplicates_skipped=%d\n", res.Total, res.OK, res.Failed, res.Duplicates)
	if err == nil && res.Failed > 0 {
		err = fmt.Errorf("%d deliveries failed", res.Failed)
	}
	if err != nil {
		log.Error("replay failed", zap.Error(err))
		return 1
	}
	return 0
}
