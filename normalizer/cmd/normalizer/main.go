// Command normalizer consumes raw provider webhooks from Kafka and produces
// canonical shipment-status events (README.md). Subcommands:
//
//	normalizer [run]                                   run the service (config from the environment)
//	normalizer normalize --provider NAME [--received-at RFC3339] [FILE...]
//	                                                   dry-run a sequence of payloads (files, or NDJSON on stdin), no Kafka or Redis
//	normalizer redrive [--reason R] [--provider P] [--since T] [--until T] [--dry-run]
//	normalizer renormalize --since T [--until T] [--provider P] [--dry-run]
//	normalizer lookup shipment PROVIDER ID | lookup webhook REQUEST_ID [--raw] [--dispatch]
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

// usage lists the subcommands.
const usage = "usage: normalizer [run] | normalize --provider NAME [FILE...] | redrive ... | renormalize --since T ... | lookup shipment P ID | lookup webhook REQ"

// commands are the subcommands by name (platform/lifecycle: the three services'
// mains have one shape). Exit codes: 0 done, 1 failed, 2 bad usage (or, for
// normalize, a dead-lettered body), 3 not found (lookup).
var commands = lifecycle.Commands{
	"run": lifecycle.NoArgs("run", usage, serve),
	"normalize": func(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
		return normalize(args, stdin, stdout, stderr)
	},
	"redrive": func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
		return redrive(ctx, args, stderr, nil)
	},
	"renormalize": func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
		return renormalize(ctx, args, stderr, nil)
	},
	"lookup": func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
		return lookupCmd(ctx, args, stdout, stderr)
	},
}

// run runs the subcommand the first argument names ("run" when there is none).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return commands.Run(ctx, usage, args, stdin, stdout, stderr)
}
