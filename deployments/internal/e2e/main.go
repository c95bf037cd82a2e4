package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/courierhook/pipeline/deployments/internal/workspace"
)

// envOr returns the variable's value or def.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}

// ChaosMain is cmd/chaos: configuration from the environment, its own infra up,
// RunChaos (or RunScaleBench with CHAOS_SCALE_BENCH=1: CHAOS_SCALE_RECORDS,
// CHAOS_SCALE_COUNTS), infra down.
func ChaosMain(ctx context.Context, out io.Writer) error {
	root, err := workspace.Root("")
	if err != nil {
		return err
	}
	infra := &Infra{
		Root: root, Dir: workspace.Abs(root, envOr("CHAOS_INFRA_DIR", ".infra/chaos")),
		KafkaPort: envInt("CHAOS_KAFKA_PORT", 39092), CtrlPort: envInt("CHAOS_CONTROLLER_PORT", 39093),
		RedisPort: envInt("CHAOS_REDIS_PORT", 36379), Out: out,
	}
	work, err := os.MkdirTemp("", "chaos-")
	if err != nil {
		return err
	}
	cfg := ChaosConfig{
		Root: root, BinDir: workspace.Abs(root, envOr("DEVRUN_BIN_DIR", "bin")), WorkDir: work,
		Brokers: infra.Brokers(), RedisAddr: infra.RedisAddr(), Infra: infra,
		Rate: envInt("CHAOS_RATE", 200), Out: out,
	}
	if f := os.Getenv("CHAOS_FAULTS"); f != "" {
		cfg.Faults = strings.Split(f, ",")
	}
	quick := os.Getenv("CHAOS_QUICK") == "1"
	cfg.Defaults(quick)
	fmt.Fprintf(out, "[chaos] own Kafka 127.0.0.1:%d and Redis 127.0.0.1:%d in %s (quick=%v)\n", infra.KafkaPort, infra.RedisPort, infra.Dir, quick)
	start := time.Now()
	if err := infra.Up(ctx); err != nil {
		return err
	}
	if os.Getenv("CHAOS_KEEP_INFRA") != "1" {
		defer func() { _ = infra.Down(context.WithoutCancel(ctx)) }()
	}
	if os.Getenv("CHAOS_SCALE_BENCH") == "1" {
		sc := ScaleBenchConfig{Root: root, BinDir: cfg.BinDir, WorkDir: work, Brokers: cfg.Brokers, RedisAddr: cfg.RedisAddr,
			Infra: infra, Records: envInt("CHAOS_SCALE_RECORDS", 0), Out: out}
		for _, c := range strings.Split(os.Getenv("CHAOS_SCALE_COUNTS"), ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(c)); err == nil && n > 0 {
				sc.Counts = append(sc.Counts, n)
			}
		}
		_, err = RunScaleBench(ctx, sc)
	} else {
		_, err = RunChaos(ctx, cfg)
	}
	fmt.Fprintf(out, "chaos total time %s (service logs: %s)\n", time.Since(start).Round(time.Second), filepath.Clean(work))
	return err
}

// BenchMain is cmd/bench: KAFKA_BROKERS / REDIS_ADDR (defaults 127.0.0.1:9092 and
// 127.0.0.1:6379, what `make infra-up` starts), BENCH_RATE, BENCH_RATE_FOR,
// BENCH_MAX_FOR, BENCH_MAX_CONC, BENCH_BASE_FOR, BENCH_RATE_ONLY (1: the
// fixed-rate pipeline period alone), DEVRUN_BIN_DIR.
func BenchMain(ctx context.Context, out io.Writer) error {
	root, err := workspace.Root("")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return err
	}
	dur := func(key string) time.Duration {
		d, _ := time.ParseDuration(os.Getenv(key))
		return d
	}
	cfg := BenchConfig{
		Root: root, BinDir: workspace.Abs(root, envOr("DEVRUN_BIN_DIR", "bin")), WorkDir: work,
		Brokers:   strings.Split(envOr("KAFKA_BROKERS", "127.0.0.1:9092"), ","),
		RedisAddr: envOr("REDIS_ADDR", "127.0.0.1:6379"),
		Rate:      envInt("BENCH_RATE", 0), RateFor: dur("BENCH_RATE_FOR"), MaxFor: dur("BENCH_MAX_FOR"),
		MaxConc: envInt("BENCH_MAX_CONC", 0), BaseFor: dur("BENCH_BASE_FOR"), RateOnly: os.Getenv("BENCH_RATE_ONLY") == "1", Out: out,
	}
	start := time.Now()
	err = RunBench(ctx, cfg)
	fmt.Fprintf(out, "bench total time %s (service logs: %s)\n", time.Since(start).Round(time.Second), work)
	return err
}
