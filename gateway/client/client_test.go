package client_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/client"
)

// A GATEWAY_<NAME>_* variable replaces that one demo value, field by field, as
// the gateway reads it; every other demo value stays.
func TestDemoFromEnv_OverridesOneField(t *testing.T) {
	t.Parallel()
	demo := client.Demo()
	got, err := client.DemoFromEnv(map[string]string{"GATEWAY_DASH_AUTH_VALUE": "new, old"})
	require.NoError(t, err)
	want := client.Demo()
	dash := want["dash"]
	dash.AuthValue = []string{"new", "old"}
	want["dash"] = dash
	assert.Equal(t, want, got)
	assert.Equal(t, demo["dash"].AuthHeader, got["dash"].AuthHeader, "the header name stays the demo's")

	got, err = client.DemoFromEnv(map[string]string{})
	require.NoError(t, err)
	assert.Equal(t, demo, got, "nothing set: the demo secrets")
	assert.Contains(t, client.Env(got), "GATEWAY_DASH_AUTH_HEADER="+demo["dash"].AuthHeader)
}
