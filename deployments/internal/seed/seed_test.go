package seed_test

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/deployments/internal/workspace"
	"github.com/courierhook/pipeline/schemas/providers"
)

// TestCredentials_Request: every provider has demo credentials, and its request
// goes to its own route with the body byte-exact. (deployments'
// TestProviders_InEveryPart checks the authentication against the gateway's
// load tool; the gateway's TestWebhook_EveryProviderAcceptsItsDemoRequest that
// the gateway accepts it.)
func TestCredentials_Request(t *testing.T) {
	c := seed.Demo()
	body := []byte(`{"a":1}`)
	for _, provider := range providers.Providers() {
		t.Run(provider, func(t *testing.T) {
			req, err := c.Request(t.Context(), "http://gw:8080/", provider, body)
			require.NoError(t, err)
			assert.Equal(t, "gw:8080", req.URL.Host)
			assert.True(t, strings.HasPrefix(req.URL.Path, "/webhooks/"+provider), req.URL.Path)
			assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
			assert.Equal(t, "courierhook-demo", req.Header.Get("User-Agent"))
			got, _ := io.ReadAll(req.Body)
			assert.Equal(t, body, got, "body sent byte-exact")
		})
	}
	_, err := c.Request(t.Context(), "http://gw", "nope", body)
	assert.ErrorIs(t, err, seed.ErrUnknownProvider)
	delete(c, providers.Dash)
	_, err = c.Request(t.Context(), "http://gw", providers.Dash, body)
	assert.ErrorIs(t, err, seed.ErrUnknownProvider, "credentials without the provider")
}

// TestFromEnv: a GATEWAY_<NAME>_* variable overrides that demo secret for the
// demo as it does for the gateway devrun starts, and Env renders it.
func TestFromEnv(t *testing.T) {
	t.Setenv("GATEWAY_DASH_AUTH_VALUE", "overridden")
	c, err := seed.FromEnv()
	require.NoError(t, err)
	req, err := c.Request(t.Context(), "http://gw", providers.Dash, []byte(`{}`))
	require.NoError(t, err)
	header := seed.Demo()[providers.Dash].AuthHeader
	assert.Equal(t, "overridden", req.Header.Get(header))
	assert.Contains(t, c.Env(), "GATEWAY_DASH_AUTH_VALUE=overridden")
	assert.Contains(t, c.Env(), "GATEWAY_DASH_AUTH_HEADER="+header, "the other dash secret stays the demo's")
	assert.NotContains(t, seed.Demo().Env(), "GATEWAY_DASH_AUTH_VALUE=overridden", "Demo ignores the environment")
}

// TestPayloads: the demo posts the seed payloads of every provider, each with
// working demo authentication; -all adds the normalizer's own cases (none of them
// an expected output, none a copy of a seed).
func TestPayloads(t *testing.T) {
	ps := seed.Payloads()
	byProvider := map[string]int{}
	seeds := map[string]bool{}
	for _, p := range ps {
		byProvider[p.Provider]++
		seeds[string(p.Body)] = true
		assert.NotEmpty(t, p.Body)
		_, err := seed.Demo().Request(t.Context(), "http://x", p.Provider, p.Body)
		assert.NoError(t, err, "%s has demo authentication", p.Provider)
	}
	for _, want := range providers.Providers() {
		assert.Positive(t, byProvider[want], "seed payloads for %s", want)
	}

	root, err := workspace.Root("")
	require.NoError(t, err)
	all, err := seed.AllCases(root)
	require.NoError(t, err)
	require.Greater(t, len(all), len(ps))
	assert.Equal(t, ps, all[:len(ps)], "the seed payloads come first")
	for _, p := range all[len(ps):] {
		assert.NotContains(t, p.Name, ".golden")
		assert.False(t, seeds[string(p.Body)], "%s/%s is a copy of a seed payload", p.Provider, p.Name)
		assert.Contains(t, providers.Providers(), p.Provider)
	}
	_, err = seed.AllCases(t.TempDir())
	assert.ErrorIs(t, err, seed.ErrNoPayloads)
}
