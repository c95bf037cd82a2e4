package provider

import (
	"fmt"
	"strings"

	"github.com/caarlos0/env/v11"
)

// EnvPrefix is the prefix of a provider's environment variables:
// GATEWAY_<NAME>_, the name upper-cased (GATEWAY_DASH_AUTH_VALUE).
func EnvPrefix(name string) string { return "GATEWAY_" + strings.ToUpper(name) + "_" }

// SecretsFromEnv reads the Secrets of every provider in Table from its
// GATEWAY_<NAME>_* variables (the env tags of Secrets under EnvPrefix) in
// environ, or in the process environment when environ is nil. Every table
// row gets an entry, empty when nothing is set: a new row needs no config
// code of its own.
func SecretsFromEnv(environ map[string]string) (map[string]Secrets, error) {
	out := make(map[string]Secrets, len(Table))
	for _, spec := range Table {
		var s Secrets
		if err := env.ParseWithOptions(&s, env.Options{Prefix: EnvPrefix(spec.Name), Environment: environ}); err != nil {
			return nil, fmt.Errorf("reading %s secrets: %w", spec.Name, err)
		}
		out[spec.Name] = s
	}
	return out, nil
}
