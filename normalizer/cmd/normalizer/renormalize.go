package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/platform/lifecycle"
)

// renormalize re-maps a range of the raw topic and emits corrections where the
// mapping changed (normalizer/README.md "Repair"). Exit codes: 0 done, 1 failed,
// 2 bad usage.
func renormalize(ctx context.Context, args []string, stderr io.Writer, normalize repair.NormalizeFunc) int {
	fs := flag.NewFlagSet("renormalize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	since := fs.String("since", "", "start of the range: raw records received at or after this time (RFC 3339, or a duration ago: 24h); required")
	until := fs.String("until", "", "end of the range (default: the end of the raw topic)")
	provider := fs.String("provider", "", "only this provider's records")
	dry := fs.Bool("dry-run", false, "compare and count; produce and write nothing")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *since == "" {
		fmt.Fprintln(stderr, "usage: normalizer renormalize --since T [--until T] [--provider P] [--dry-run]")
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
	cfg := env.cfg
	r, err := repair.NewRenormalizer(repair.RenormalizeConfig{
		RawTopic: cfg.RawTopic, CanonicalTopic: cfg.CanonicalTopic, Since: s, Until: u, Provider: *provider, DryRun: *dry,
		CheckpointTTL: cfg.Kafka.RepairRetention(),
	}, cfg.Kafka.Brokers, repair.RenormalizeDeps{
		Producer: env.writer, Redis: env.rdb, Prefix: cfg.RedisPrefix, Normalize: normalize,
		Store:  lookup.NewStore(env.rdb, cfg.RedisPrefix),
		Index:  lookup.NewIndex(cfg.RedisPrefix, cfg.StateTTL, lookup.DefaultRecent),
		Dedup:  dedup.NewRedis(env.rdb, cfg.RedisPrefix, cfg.DedupTTL),
		States: state.NewRedis(env.rdb, cfg.RedisPrefix, cfg.StateTTL),
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	p := newProgress(stderr)
	line := func(n repair.RenormalizeCounts) string {
		verb := "corrected"
		if *dry {
			verb = "would_correct"
		}
		return fields("read", n.Read, "unchanged", n.Unchanged, verb, n.Corrected, "no_index", n.NoIndex,
			"dead", n.Dead, "unmatched", n.Unmatched, "already_corrected", n.AlreadyCorrected, "other_provider", n.Skipped)
	}
	publish := func(n repair.RenormalizeCounts, running bool) {
		if !*dry {
			repair.PublishProgress(ctx, env.rdb, cfg.RedisPrefix, repair.CommandRenormalize, n.Map(), running)
		}
	}
	r.Progress = func(n repair.RenormalizeCounts) { p.show(line(n), false); publish(n, true) }
	n, err := r.Run(ctx)
	p.show(line(n), true)
	publish(n, false)
	if err != nil {
		fmt.Fprintln(stderr, "renormalize stopped (run it again to resume):", err)
		return 1
	}
	return 0
}
