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
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches the subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return serve(ctx, stderr)
	case "normalize":
		return normalize(args, stdin, stdout, stderr)
	case "redrive":
		return redrive(ctx, args, stderr, nil)
	case "renormalize":
		return renormalize(ctx, args, stderr, nil)
	case "lookup":
		return lookupCmd(ctx, args, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown command %q\nusage: normalizer [run] | normalize --provider NAME [FILE] | redrive ... | renormalize --since T ... | lookup shipment P ID | lookup webhook REQ\n", cmd)
		return 2
	}
}
