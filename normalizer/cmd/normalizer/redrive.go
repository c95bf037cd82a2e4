package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/courierhook/pipeline/normalizer/internal/repair"
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
	s, u, ok := parseRange(*since, *until, stderr)
	if !ok {
		return 2
	}
	batch, ok := repairBatch(stderr)
	if !ok {
		return 2
	}
	ctx, env, done, ok := startRepair(ctx, stderr)
	if !ok {
		return 1
	}
	defer done()
	r, err := repair.NewRedriver(repair.RedriveConfig{
		DLQTopic: env.cfg.DLQTopic, RawTopic: env.cfg.RawTopic, Reason: *reason, Provider: *provider,
		Since: s, Until: u, DryRun: *dry, IncludeRedriven: *again, MarkTTL: env.cfg.Kafka.RepairRetention(), BatchSize: batch,
	}, env.cfg.Kafka.Brokers, env.writer, env.rdb, env.cfg.RedisPrefix, normalize)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	line := func(n repair.RedriveCounts) (repair.Position, string) {
		verb := "redriven"
		if *dry {
			verb = "would_redrive"
		}
		return n.Scan, fields("read", n.Read, "selected", n.Selected, verb, max(n.Redriven, n.NowMapped*boolInt(*dry)),
			"now_mapped", n.NowMapped, "still_dead", n.StillDead, "already_redriven", n.Done, "skipped_redriven", n.SkippedRedriven)
	}
	return runShown(ctx, env, stderr, repair.CommandRedrive, *dry, line, &r.Progress, r.Run, "redrive stopped:")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
