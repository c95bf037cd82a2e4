package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/lifecycle/lifecycletest"
)

// TestRun_unknownCommand: a name that is not a subcommand, an argument after
// "run", or bad replay flags are bad usage (exit 2) and start nothing. The
// environment is one the dispatcher could start with, so a run that went on to
// the service would block here or fail with 1.
func TestRun_unknownCommand(t *testing.T) {
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(routes, []byte("sinks:\n  down: {kind: kafka, topic: down}\n"+
		"routes:\n  - {match: {always: true}, to: [down]}\n"), 0o600))
	t.Setenv("DISPATCHER_ROUTES_FILE", routes)
	t.Setenv("DISPATCHER_OPS_ADDR", "127.0.0.1:0")
	t.Setenv("KAFKA_BROKERS", "127.0.0.1:1")
	lifecycletest.RequireBadUsage(t, "dispatcher", run, [][]string{
		{"frobnicate"}, {"--sink", "hook"}, {"run", "extra"},
		{"replay", "--bogus"}, {"replay", "hook"}, {"replay", "--since", "yesterday"},
	})
}
