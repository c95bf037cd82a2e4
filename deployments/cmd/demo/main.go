// Command demo (`make demo`, with `make run` up) posts every seed example payload
// with valid demo authentication to the gateway and prints the canonical events
// as they arrive, ending with a summary. It finds the broker and the gateway in
// devrun's state file (bin/devrun.json); without it, in KAFKA_BROKERS and
// GATEWAY_URL, else the defaults. Exit status 1 when no event arrived.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/courierhook/pipeline/deployments/internal/demo"
	"github.com/courierhook/pipeline/deployments/internal/devrun"
	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/deployments/internal/workspace"
	"github.com/courierhook/pipeline/schemas"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	gateway := flag.String("gateway", "", "gateway base URL (default: devrun state, $GATEWAY_URL, http://127.0.0.1:8080)")
	brokers := flag.String("brokers", "", "kafka brokers (default: devrun state, $KAFKA_BROKERS, 127.0.0.1:19092)")
	timeout := flag.Duration("timeout", 60*time.Second, "give up after this long")
	idle := flag.Duration("idle", 8*time.Second, "stop after no event arrived for this long")
	only := flag.String("provider", "", "post only this provider's payloads")
	all := flag.Bool("all", false, "post the normalizer's drift, edge and poison cases too, after the seed examples")
	flag.Parse()

	root, err := workspace.Root("")
	if err != nil {
		return err
	}
	creds, err := seed.FromEnv()
	if err != nil {
		return err
	}
	opts := demo.Options{
		GatewayURL: "http://127.0.0.1:8080", Brokers: []string{"127.0.0.1:19092"},
		Topic: schemas.TopicCanonical, Credentials: creds, Timeout: *timeout, Idle: *idle,
	}
	if v := os.Getenv("GATEWAY_URL"); v != "" {
		opts.GatewayURL = v
	}
	if v := os.Getenv("KAFKA_BROKERS"); v != "" {
		opts.Brokers = strings.Split(v, ",")
	}
	statePath := workspace.Abs(root, envOr("DEVRUN_STATE_FILE", "bin/devrun.json"))
	st, err := devrun.ReadState(statePath)
	switch {
	case err == nil:
		opts.GatewayURL, opts.Brokers, opts.Topic = st.GatewayURL, st.KafkaBrokers, st.CanonicalTopic
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	// The run ends with a lookup on the normalizer's ops listener (devrun binds it
	// to 127.0.0.1:9094).
	opts.LookupURL = envOr("NORMALIZER_LOOKUP_URL", "http://127.0.0.1:9094")
	opts.LookupToken = os.Getenv("NORMALIZER_LOOKUP_TOKEN")
	if *gateway != "" {
		opts.GatewayURL = *gateway
	}
	if *brokers != "" {
		opts.Brokers = strings.Split(*brokers, ",")
	}

	payloads, from := seed.Payloads(), "schemas/providers/seed"
	if *all {
		if payloads, err = seed.AllCases(root); err != nil {
			return err
		}
		from += " and " + seed.NormalizerCases
	}
	for _, p := range payloads {
		if *only == "" || p.Provider == *only {
			opts.Payloads = append(opts.Payloads, p)
		}
	}
	fmt.Printf("demo: %d seed payloads from %s -> %s; reading %s on %s\n",
		len(opts.Payloads), from, opts.GatewayURL, opts.Topic, strings.Join(opts.Brokers, ","))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = demo.Run(ctx, opts, os.Stdout)
	return err
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
