// Package lifecycletest checks a service binary's subcommand handling from its
// tests.
package lifecycletest

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Run is a binary's run function (main's body: lifecycle.Commands.Run).
type Run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// RequireBadUsage runs run with each argument list and requires bad usage: exit
// code 2, "usage: <name>" on stderr, nothing on stdout, and a return within 10
// s. Call it with an environment the service could start with, so a run that
// went on to start the service blocks and fails here instead of passing.
func RequireBadUsage(t *testing.T, name string, run Run, argLists [][]string) {
	t.Helper()
	for _, args := range argLists {
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
			t.Fatalf("%q: run did not return: it started the %s", args, name)
		}
		cancel()
		assert.Contains(t, stderr.String(), "usage: "+name, "%q", args)
		assert.Empty(t, stdout.String(), "%q", args)
	}
}
