package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/platform/lifecycle"
	"go.uber.org/zap"
)

// redrive re-processes the raw dead-letter topic with this build's adapters
// (normalizer/README.md "Repair"). Exit codes: 0 done, 1 failed, 2 bad usage.
func redrive(ctx context.Context, args []string, stderr io.Writer, normalize repair.NormalizeFunc) int {
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reason := fs.String("reason", "", "only dead letters with this dlq_reason")
	provider := fs.String("provider", "", "only this provider's dead letters")
	since := fs.String("since", "", "only dead letters written at or after this time (RFC 3339, or a duration ago: 24h)")
	until := fs.String("until", "", "only dead letters written before this time")
	dry := fs.Bool("dry-run", false, "map and count; produce nothing")
	again := fs.Bool("include-redriven", false, "also dead letters that a redrive already sent and were dead-lettered again")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: normalizer redrive [--reason R] [--provider P] [--since T] [--until T] [--dry-run] [--include-redriven]")
		return 2
	}
	now := time.Now()
	s, sinceErr := parseTime(*since, now)
	u, untilErr := parseTime(*until, now)
	if sinceErr != nil || untilErr != nil {
		fmt.Fprintln(stderr, "--since/--until:", sinceErr, untilErr)
		return 2
	}
	env, ok := openRepairEnv(ctx, stderr)
	if !ok {
		return 1
	}
	defer env.close()
	ctx, stop := lifecycle.SignalContext(ctx, zap.NewNop())
	defer stop()
	r, err := repair.NewRedriver(repair.RedriveConfig{
		DLQTopic: env.cfg.DLQTopic, RawTopic: env.cfg.RawTopic, Reason: *reason, Provider: *provider,
		Since: s, Until: u, DryRun: *dry, IncludeRedriven: *again, MarkTTL: env.cfg.Kafka.RepairRetention(),
	}, env.cfg.Kafka.Brokers, env.writer, env.rdb, env.cfg.RedisPrefix, normalize)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	p := newProgress(stderr)
	line := func(n repair.RedriveCounts) string {
		verb := "redriven"
		if *dry {
			verb = "would_redrive"
		}
		return fields("read", n.Read, "selected", n.Selected, verb, max(n.Redriven, n.NowMapped*boolInt(*dry)),
			"now_mapped", n.NowMapped, "still_dead", n.StillDead, "already_redriven", n.Done, "skipped_redriven", n.SkippedRedriven)
	}
	publish := func(n repair.RedriveCounts, running bool) {
		if !*dry {
			repair.PublishProgress(ctx, env.rdb, env.cfg.RedisPrefix, repair.CommandRedrive, n.Map(), running)
		}
	}
	r.Progress = func(n repair.RedriveCounts) { p.show(line(n), false); publish(n, true) }
	n, err := r.Run(ctx)
	p.show(line(n), true)
	publish(n, false)
	if err != nil {
		fmt.Fprintln(stderr, "redrive stopped:", err)
		return 1
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
