// Package client is the client side of the gateway's provider table
// (internal/provider), for other modules: how each provider's webhook is built
// and authenticated (NewRequest), the GATEWAY_<NAME>_* variables of its secrets
// (Env, DemoFromEnv) and its demo secrets (Demo). The deployments module's demo
// credentials are built from it, so a new table row needs no client code there.
package client

import (
	"context"
	"net/http"

	"github.com/courierhook/pipeline/gateway/internal/provider"
)

// Secrets are one provider's secrets, as the gateway reads them.
type Secrets = provider.Secrets

// ErrUnknownProvider is returned for a name that is not in the table.
var ErrUnknownProvider = provider.ErrUnknownProvider

// NewRequest builds the webhook provider name would send to the gateway at
// base ("http://127.0.0.1:8080") carrying body, authenticated with s the way the
// table's row says (provider.NewRequest).
func NewRequest(ctx context.Context, base, name string, body []byte, s Secrets) (*http.Request, error) {
	return provider.NewRequest(ctx, base, name, body, s)
}

// Demo returns every provider's demo secrets by name. They are public on
// purpose: use them for local runs only.
func Demo() map[string]Secrets { return provider.Demo() }

// DemoFromEnv returns Demo with each GATEWAY_<NAME>_* variable set in environ
// (the process environment when nil) in place of the demo value, as the gateway
// would read it: overriding a secret for the gateway overrides it for its
// clients too.
func DemoFromEnv(environ map[string]string) (map[string]Secrets, error) {
	env, err := provider.SecretsFromEnv(environ)
	if err != nil {
		return nil, err
	}
	return provider.Merge(provider.Demo(), env), nil
}

// Env renders secrets as the gateway's GATEWAY_<NAME>_* variables ("NAME=value").
func Env(secrets map[string]Secrets) []string { return provider.Env(secrets) }
