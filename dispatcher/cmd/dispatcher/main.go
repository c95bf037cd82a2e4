// Command dispatcher routes canonical shipment events to downstream topics and
// signed notification sinks (see dispatcher/README.md). Subcommands:
//
//	dispatcher [run]                                          run the service (config from the environment)
//	dispatcher replay [--sink NAME] [--since T] [--until T]   re-send dead-lettered deliveries
package main

import (
	"context"
	"io"
	"os"

	"github.com/courierhook/pipeline/platform/lifecycle"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs the subcommand the first argument names ("run" when there is none).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return commands.Run(ctx, usage, args, stdin, stdout, stderr)
}

// usage lists the subcommands.
const usage = "usage: dispatcher [run] | replay [--sink NAME] [--since RFC3339] [--until RFC3339]"

// commands are the subcommands by name (platform/lifecycle: the three services'
// mains have one shape). Exit codes: 0 done, 1 failed, 2 bad usage.
var commands = lifecycle.Commands{
	"run": lifecycle.NoArgs("run", usage, serve),
	"replay": func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
		return replay(ctx, args, stdout, stderr)
	},
}
