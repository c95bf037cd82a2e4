// Command bench is `make bench`: against the real Kafka and Redis of `make
// infra-up` it runs the three built services on topics unique to the run, drives
// the provider webhook mix at a fixed rate and then at max, and prints one report
// beside two baselines measured in the same command: the gateway with publishing
// disabled (the HTTP ceiling) and a plain kafka-go producer writing the same
// records (the broker ceiling). See deployments/internal/e2e and
// docs/BENCHMARKS.md.
//
// Environment: KAFKA_BROKERS (127.0.0.1:9092), REDIS_ADDR (127.0.0.1:6379),
// BENCH_RATE (1000), BENCH_RATE_FOR (20s), BENCH_MAX_FOR (15s), BENCH_MAX_CONC
// (64), BENCH_BASE_FOR (10s), BENCH_RATE_ONLY (1: only the fixed-rate pipeline
// period, no max and no baselines), DEVRUN_BIN_DIR (bin).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/courierhook/pipeline/deployments/internal/e2e"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := e2e.BenchMain(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}
