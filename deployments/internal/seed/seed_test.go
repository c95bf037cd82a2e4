package seed_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/deployments/internal/workspace"
	"github.com/courierhook/pipeline/schemas/providers"
)

func TestCredentials_Request(t *testing.T) {
	c := seed.Demo()
	body := []byte(`{"a":1}`)
	cases := map[string]struct {
		method, path, header, value string
	}{
		"kiriminaja": {http.MethodPost, "/webhooks/kiriminaja", "Authorization", "Bearer " + seed.DemoKiriminAjaAPIKey},
		"dash":       {http.MethodPost, "/webhooks/dash", seed.DemoDashAuthHeader, seed.DemoDashAuthValue},
		"komerce":    {http.MethodPut, "/webhooks/komerce/" + seed.DemoKomerceToken, "", ""},
		"sendstack":  {http.MethodPost, "/webhooks/sendstack", seed.SendstackSignatureHeader, ""},
	}
	for provider, tc := range cases {
		t.Run(provider, func(t *testing.T) {
			req, err := c.Request(t.Context(), "http://gw:8080/", provider, body)
			require.NoError(t, err)
			assert.Equal(t, tc.method, req.Method)
			assert.Equal(t, tc.path, req.URL.Path)
			assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
			got, _ := io.ReadAll(req.Body)
			assert.Equal(t, body, got, "body sent byte-exact")
			if provider == "sendstack" {
				m := hmac.New(sha256.New, []byte(seed.DemoSendstackAppSecret))
				m.Write(body)
				assert.Equal(t, hex.EncodeToString(m.Sum(nil)), req.Header.Get(tc.header))
			} else if tc.header != "" {
				assert.Equal(t, tc.value, req.Header.Get(tc.header))
			}
		})
	}
	_, err := c.Request(t.Context(), "http://gw", "nope", body)
	assert.ErrorIs(t, err, seed.ErrUnknownProvider)
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
