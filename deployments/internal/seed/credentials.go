package seed

import (
	"context"
	"fmt"
	"net/http"

	"github.com/courierhook/pipeline/gateway/client"
)

// ErrUnknownProvider means the provider has no demo credentials here: it is
// not a row of the gateway's provider table.
var ErrUnknownProvider = client.ErrUnknownProvider

// Credentials are the secrets the demo signs with, by provider name. They are
// the gateway's provider table's (gateway/client): its demo secrets, read back
// from the same GATEWAY_<NAME>_* variables the gateway reads, so a new table row
// needs nothing here. They are public on purpose: devrun configures the gateway
// with them and cmd/demo signs with them. Never use them outside a local run.
type Credentials map[string]client.Secrets

// Demo returns the documented demo credentials of every provider.
func Demo() Credentials { return client.Demo() }

// FromEnv returns Demo with each GATEWAY_<NAME>_* variable set in the process
// environment in place of its demo value, so overriding one for devrun
// overrides it for the demo too.
func FromEnv() (Credentials, error) {
	c, err := client.DemoFromEnv(nil)
	if err != nil {
		return nil, fmt.Errorf("reading provider secrets: %w", err)
	}
	return c, nil
}

// Env renders the credentials as the gateway's environment variables.
func (c Credentials) Env() []string { return client.Env(c) }

// Request builds the authenticated webhook request a provider would send to the
// gateway at base ("http://127.0.0.1:8080"), the way the gateway's provider
// table says that provider authenticates (client.NewRequest).
func (c Credentials) Request(ctx context.Context, base, provider string, body []byte) (*http.Request, error) {
	s, ok := c[provider]
	if !ok {
		return nil, fmt.Errorf("%s: %w", provider, ErrUnknownProvider)
	}
	req, err := client.NewRequest(ctx, base, provider, body, s)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "courierhook-demo")
	return req, nil
}
