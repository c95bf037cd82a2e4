// Command gateway receives courier webhooks and makes each one a durable raw
// record in Kafka (see gateway/README.md). Subcommands:
//
//	gateway [run]                 run the service (config from the environment)
//	gateway requeue-quarantine    re-send the records Kafka refused for good
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// version is set at build time (Makefile: -ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command runs one subcommand and returns the process exit code: 0 done, 1
// failed, 2 bad usage.
type command func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// commands are the subcommands by name.
var commands = map[string]command{
	"run": func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
		if !noArgs("run", args, stderr) {
			return 2
		}
		return serve(ctx, stderr)
	},
	"requeue-quarantine": func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
		if !noArgs("requeue-quarantine", args, stderr) {
			return 2
		}
		return requeueQuarantine(ctx, stderr)
	},
}

// usage lists the subcommands.
const usage = "usage: gateway [run] | requeue-quarantine"

// run runs the subcommand the first argument names ("run" when there is none)
// and returns the process exit code. An unknown name is bad usage: it must not
// start the service.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := "run"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "unknown command %q\n%s\n", name, usage)
		return 2
	}
	return cmd(ctx, args, stdin, stdout, stderr)
}

// noArgs reports whether a subcommand that takes no arguments got none, and
// says on stderr what it got otherwise: its configuration is the environment.
func noArgs(name string, args []string, stderr io.Writer) bool {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "%s takes no arguments (its configuration is the environment), got %q\n%s\n", name, args, usage)
		return false
	}
	return true
}
