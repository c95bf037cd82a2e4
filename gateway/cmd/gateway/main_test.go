package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRun_unknownCommand: a name that is not a subcommand, or an argument after
// one, is bad usage (exit 2) and does not start the gateway. The environment is
// one it could serve with, so a run that started serving would block here.
func TestRun_unknownCommand(t *testing.T) {
	t.Setenv("GATEWAY_ADDR", "127.0.0.1:0")
	t.Setenv("GATEWAY_OPS_ADDR", "127.0.0.1:0")
	t.Setenv("GATEWAY_SPOOL_DIR", t.TempDir())
	for _, args := range [][]string{{"frobnicate"}, {"--addr", ":8080"}, {"run", "extra"}, {"requeue-quarantine", "now"}} {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithCancel(t.Context())
		code := make(chan int, 1)
		go func() { code <- run(ctx, args, nil, &stdout, &stderr) }()
		select {
		case c := <-code:
			assert.Equal(t, 2, c, "%q", args)
		case <-time.After(10 * time.Second):
			cancel()
			<-code
			t.Fatalf("%q: run did not return: it started the gateway", args)
		}
		cancel()
		assert.Contains(t, stderr.String(), "usage: gateway", "%q", args)
		assert.Empty(t, stdout.String(), "%q", args)
	}
}
