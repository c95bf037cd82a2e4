package lifecycle

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/logging"
)

// Command is one subcommand of a service binary. It returns the process exit
// code: 0 done, 1 failed, 2 bad usage (a command may document more).
type Command func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// Commands are a binary's subcommands by name. The three services' mains are
// the same: main calls Commands.Run with os.Args[1:] and exits with its code.
type Commands map[string]Command

// Run runs the subcommand the first argument names ("run" when there is none)
// and returns the process exit code. An unknown name is bad usage (2, with
// usage on stderr): it must not start the service.
func (c Commands) Run(ctx context.Context, usage string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := "run"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	cmd, ok := c[name]
	if !ok {
		fmt.Fprintf(stderr, "unknown command %q\n%s\n", name, usage)
		return 2
	}
	return cmd(ctx, args, stdin, stdout, stderr)
}

// NoArgs is a subcommand that takes no arguments (its configuration is the
// environment): any argument is bad usage (2), said on stderr with usage.
func NoArgs(name, usage string, run func(ctx context.Context, stderr io.Writer) int) Command {
	return func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
		if len(args) > 0 {
			fmt.Fprintf(stderr, "%s takes no arguments (its configuration is the environment), got %q\n%s\n", name, args, usage)
			return 2
		}
		return run(ctx, stderr)
	}
}

// Service is what Start sets up for a service command: its configuration, its
// logger and a context cancelled by SIGINT/SIGTERM (SignalContext).
type Service[C any] struct {
	Ctx context.Context
	Cfg C
	Log *zap.Logger
	// Done stops the signal handling and flushes the log.
	Done func()
}

// Start loads a service's configuration with load, builds the logger its
// logging section names, ties ctx to SIGINT/SIGTERM and logs "<name> starting"
// with version and the masked configuration. A configuration or logger error is
// written to stderr and ok is false.
func Start[C any](ctx context.Context, name, version string, stderr io.Writer, load func() (C, error), logCfg func(C) logging.Config) (s Service[C], ok bool) {
	cfg, err := load()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return s, false
	}
	log, err := logging.New(name, logCfg(cfg))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return s, false
	}
	ctx, stop := SignalContext(ctx, log)
	log.Info(name+" starting", zap.String("version", version), zap.Any("config", config.Masked(cfg)))
	return Service[C]{Ctx: ctx, Cfg: cfg, Log: log, Done: func() { stop(); _ = log.Sync() }}, true
}

// Serve runs a service command with Start's set-up: run builds and runs the
// service until ctx ends and its drain is done. Exit code 0 after a clean
// drain, 1 when the configuration, the start or the run failed (logged).
func Serve[C any](ctx context.Context, name, version string, stderr io.Writer, load func() (C, error), logCfg func(C) logging.Config,
	run func(ctx context.Context, cfg C, log *zap.Logger) error) int {
	s, ok := Start(ctx, name, version, stderr, load, logCfg)
	if !ok {
		return 1
	}
	defer s.Done()
	if err := run(s.Ctx, s.Cfg, s.Log); err != nil {
		s.Log.Error(name+" stopped with an error", zap.Error(err))
		return 1
	}
	return 0
}
