// Command chaos is `make chaos`: it starts its own Kafka and Redis (separate
// ports and INFRA_DIR, via scripts/infra-up.sh), runs the three services under a
// steady webhook load, injects faults one after another (broker stopped,
// normalizer and dispatcher SIGKILLed, Redis stopped, sink failing, SIGTERM
// rolling restart, normalizer scaled 1→3→1, dispatcher 1→2→1, two gateways
// behind one address with one SIGKILLed), audits each and prints the table. It
// exits 1 if anything acknowledged was lost. See deployments/internal/e2e and
// docs/BENCHMARKS.md.
//
// Environment: CHAOS_QUICK=1 (shorter outages), CHAOS_RATE (200), CHAOS_FAULTS
// (comma-separated subset), CHAOS_KAFKA_PORT (39092), CHAOS_CONTROLLER_PORT
// (39093), CHAOS_REDIS_PORT (36379), CHAOS_INFRA_DIR (.infra/chaos, git-ignored),
// CHAOS_KEEP_INFRA=1 (leave Kafka and Redis running), DEVRUN_BIN_DIR (bin).
// CHAOS_SCALE_BENCH=1 runs the normalizer throughput bench instead of the
// faults: CHAOS_SCALE_RECORDS webhooks backlogged (60000), drained by each of
// CHAOS_SCALE_COUNTS normalizer processes in turn (1,2,3).
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
	if err := e2e.ChaosMain(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		stop()
		os.Exit(1)
	}
}
