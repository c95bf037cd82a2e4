// Command gateway receives courier webhooks and makes each one a durable raw
// record in Kafka (see gateway/README.md). Subcommands:
//
//	gateway [run]                 run the service (config from the environment)
//	gateway requeue-quarantine    re-send the records Kafka refused for good
package main

import (
	"context"
	"io"
	"os"

	"github.com/courierhook/pipeline/platform/lifecycle"
)

// version is set at build time (Makefile: -ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs the subcommand the first argument names ("run" when there is none).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return commands.Run(ctx, usage, args, stdin, stdout, stderr)
}

// usage lists the subcommands.
const usage = "usage: gateway [run] | requeue-quarantine"

// commands are the subcommands by name (platform/lifecycle: the three services'
// mains have one shape). Exit codes: 0 done, 1 failed, 2 bad usage.
var commands = lifecycle.Commands{
	"run":                lifecycle.NoArgs("run", usage, serve),
	"requeue-quarantine": lifecycle.NoArgs("requeue-quarantine", usage, requeueQuarantine),
}
