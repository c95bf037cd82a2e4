package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/platform/lifecycle"
	"github.com/courierhook/pipeline/platform/logging"
)

func TestCommands_Run(t *testing.T) {
	var ran []string
	served := func(ctx context.Context, stderr io.Writer) int { ran = append(ran, "run"); return 0 }
	cmds := lifecycle.Commands{
		"run": lifecycle.NoArgs("run", "usage: x [run] | echo ARG", served),
		"echo": func(_ context.Context, args []string, _ io.Reader, stdout, _ io.Writer) int {
			ran = append(ran, "echo")
			_, _ = io.WriteString(stdout, args[0])
			return 3
		},
	}
	for name, tc := range map[string]struct {
		args   []string
		code   int
		ran    []string
		stdout string
		stderr string
	}{
		"no argument runs the service": {args: nil, code: 0, ran: []string{"run"}},
		"run by name":                  {args: []string{"run"}, code: 0, ran: []string{"run"}},
		"a command's own exit code":    {args: []string{"echo", "hi"}, code: 3, ran: []string{"echo"}, stdout: "hi"},
		"unknown name starts nothing":  {args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		"a flag is not a command":      {args: []string{"--help"}, code: 2, stderr: "usage: x"},
		"run takes no arguments":       {args: []string{"run", "extra"}, code: 2, stderr: "run takes no arguments"},
	} {
		t.Run(name, func(t *testing.T) {
			ran = nil
			var stdout, stderr bytes.Buffer
			code := cmds.Run(t.Context(), "usage: x [run] | echo ARG", tc.args, nil, &stdout, &stderr)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.ran, ran)
			assert.Equal(t, tc.stdout, stdout.String())
			assert.Contains(t, stderr.String(), tc.stderr)
		})
	}
}

type cfg struct {
	Port int `env:"PORT"`
	Log  logging.Config
}

func TestServe(t *testing.T) {
	quiet := logging.Config{Level: "fatal", Format: "json"}
	load := func() (cfg, error) { return cfg{Port: 1, Log: quiet}, nil }
	logCfg := func(c cfg) logging.Config { return c.Log }

	var stderr bytes.Buffer
	code := lifecycle.Serve(t.Context(), "svc", "v1", &stderr, func() (cfg, error) { return cfg{}, errors.New("PORT: bad") }, logCfg,
		func(context.Context, cfg, *zap.Logger) error { t.Fatal("ran with a bad configuration"); return nil })
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "PORT: bad", "a configuration error goes to stderr: there is no logger yet")

	var got cfg
	code = lifecycle.Serve(t.Context(), "svc", "v1", io.Discard, load, logCfg, func(ctx context.Context, c cfg, log *zap.Logger) error {
		got = c
		assert.NotNil(t, log)
		assert.NoError(t, ctx.Err(), "the service's context is live until a signal")
		return nil
	})
	assert.Equal(t, 0, code)
	assert.Equal(t, 1, got.Port)

	code = lifecycle.Serve(t.Context(), "svc", "v1", io.Discard, load, logCfg,
		func(context.Context, cfg, *zap.Logger) error { return errors.New("broker gone") })
	assert.Equal(t, 1, code, "a run that fails exits 1")
}
