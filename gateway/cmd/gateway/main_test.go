package main

import (
	"testing"

	"github.com/courierhook/pipeline/platform/lifecycle/lifecycletest"
)

// TestRun_unknownCommand: a name that is not a subcommand, or an argument after
// one, is bad usage (exit 2) and does not start the gateway. The environment is
// one it could serve with, so a run that started serving would block here.
func TestRun_unknownCommand(t *testing.T) {
	t.Setenv("GATEWAY_ADDR", "127.0.0.1:0")
	t.Setenv("GATEWAY_OPS_ADDR", "127.0.0.1:0")
	t.Setenv("GATEWAY_SPOOL_DIR", t.TempDir())
	lifecycletest.RequireBadUsage(t, "gateway", run,
		[][]string{{"frobnicate"}, {"--addr", ":8080"}, {"run", "extra"}, {"requeue-quarantine", "now"}})
}
