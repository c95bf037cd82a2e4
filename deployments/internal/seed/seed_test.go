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

func TestPayloads(t *testing.T) {
	root, err := workspace.Root("")
	require.NoError(t, err)
	ps, dir, err := seed.Payloads(root)
	require.NoError(t, err)
	assert.Contains(t, dir, seed.FixtureDirs[0])
	providers := map[string]int{}
	for _, p := range ps {
		providers[p.Provider]++
		assert.NotContains(t, p.Name, ".golden")
		assert.NotEmpty(t, p.Body)
		_, err := seed.Demo().Request(t.Context(), "http://x", p.Provider, p.Body)
		assert.NoError(t, err, "%s has demo authentication", p.Provider)
	}
	for _, want := range []string{"kiriminaja", "dash", "komerce", "sendstack"} {
		assert.Positive(t, providers[want], "seed payloads for %s", want)
	}
	_, _, err = seed.Payloads(t.TempDir(), "nowhere")
	assert.ErrorIs(t, err, seed.ErrNoPayloads)
}
