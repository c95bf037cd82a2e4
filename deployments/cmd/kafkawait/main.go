// Command kafkawait blocks until a Kafka broker accepts writes and serves a
// consumer group, then prints the broker's API versions summary. scripts/infra-up.sh
// runs it so tests never start against a half-ready broker.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/courierhook/pipeline/platform/broker"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap brokers")
	timeout := flag.Duration("timeout", 90*time.Second, "how long to wait")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	if err := broker.Probe(ctx, broker.Config{Brokers: strings.Split(*brokers, ",")}); err != nil {
		fmt.Fprintln(os.Stderr, "kafkawait:", err)
		os.Exit(1)
	}
	fmt.Printf("[kafkawait] kafka at %s accepts acks=all writes and consumer-group commits (%.1fs)\n",
		*brokers, time.Since(start).Seconds())
}
