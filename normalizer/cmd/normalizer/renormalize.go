package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/normalizer/internal/state"
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
	cfg := env.cfg
	r, err := repair.NewRenormalizer(repair.RenormalizeConfig{
		RawTopic: cfg.RawTopic, CanonicalTopic: cfg.CanonicalTopic, Since: s, Until: u, Provider: *provider, DryRun: *dry,
		CheckpointTTL: cfg.Kafka.RepairRetention(), BatchSize: batch,
	}, cfg.Kafka.Brokers, repair.RenormalizeDeps{
		Producer: env.writer, Redis: env.rdb, Prefix: cfg.RedisPrefix, Normalize: normalize,
		Store:  lookup.NewStore(env.rdb, cfg.RedisPrefix),
		Index:  lookup.NewIndex(cfg.RedisPrefix, cfg.StateTTL, cfg.Repair.LookupRecent),
		Dedup:  dedup.NewRedis(env.rdb, cfg.RedisPrefix, cfg.DedupTTL),
		States: state.NewRedis(env.rdb, cfg.RedisPrefix, cfg.StateTTL),
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	line := func(n repair.RenormalizeCounts) (repair.Position, string) {
		verb := "corrected"
		if *dry {
			verb = "would_correct"
		}
		return n.Scan, fields("read", n.Read, "unchanged", n.Unchanged, verb, n.Corrected, "no_index", n.NoIndex,
			"dead", n.Dead, "redelivered", n.Redelivered, "unmatched", n.Unmatched, "already_corrected", n.AlreadyCorrected, "other_provider", n.Skipped)
	}
	return runShown(ctx, env, stderr, repair.CommandRenormalize, *dry, line, &r.Progress, r.Run,
		"renormalize stopped (run it again to resume):")
}
