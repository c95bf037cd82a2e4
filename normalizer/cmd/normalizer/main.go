// Command normalizer consumes raw provider webhooks from Kafka and produces
// canonical shipment-status events (README.md). Subcommands:
//
//	normalizer [run]                                   run the service (config from the environment)
//	normalizer normalize --provider NAME [--received-at RFC3339] [FILE]
//	                                                   dry-run one payload, no Kafka or Redis
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
	default:
		fmt.Fprintf(stderr, "unknown command %q\nusage: normalizer [run] | normalizer normalize --provider NAME [FILE]\n", cmd)
		return 2
	}
}
