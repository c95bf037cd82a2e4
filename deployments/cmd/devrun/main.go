// Command devrun starts the whole pipeline locally with one command (`make run`):
// an embedded Kafka-protocol broker and Redis (unless KAFKA_BROKERS / REDIS_ADDR
// are set), the topics, and the gateway, normalizer and dispatcher from bin/, with
// their logs interleaved. Ctrl-C stops everything; a second Ctrl-C skips the drain.
// See deployments/README.md for its variables.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/courierhook/pipeline/deployments/internal/devrun"
	"github.com/courierhook/pipeline/deployments/internal/workspace"
	"github.com/courierhook/pipeline/platform/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devrun:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load[devrun.Config]()
	if err != nil {
		return err
	}
	root, err := workspace.Root("")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kill := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		<-sigs
		close(kill)
	}()
	l := &devrun.Launcher{Cfg: cfg, Root: root, Out: os.Stdout, Kill: kill}
	return l.Run(ctx)
}
