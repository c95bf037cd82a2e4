package provider

import (
	"fmt"
	"reflect"
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

// Env renders secrets as the GATEWAY_<NAME>_* variables SecretsFromEnv reads
// back: one "NAME=value" per set field (lists comma-separated), in table order
// and, within a provider, in the order of Secrets' fields. Names not in Table
// are left out, as SecretsFromEnv would not read them.
func Env(secrets map[string]Secrets) []string {
	var out []string
	for _, spec := range Table {
		s, ok := secrets[spec.Name]
		if !ok {
			continue
		}
		v := reflect.ValueOf(s)
		for i := range v.NumField() {
			tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("env"), ",")
			var val string
			switch f := v.Field(i).Interface().(type) {
			case string:
				val = f
			case SecretList:
				val = strings.Join(f, ",")
			case []string:
				val = strings.Join(f, ",")
			default:
				panic(fmt.Sprintf("provider.Env: Secrets field %s has type %T", v.Type().Field(i).Name, f))
			}
			if val != "" {
				out = append(out, EnvPrefix(spec.Name)+tag+"="+val)
			}
		}
	}
	return out
}

// Demo returns every row's demo secrets (Spec.Demo) by provider name.
func Demo() map[string]Secrets {
	out := make(map[string]Secrets, len(Table))
	for _, spec := range Table {
		out[spec.Name] = spec.Demo
	}
	return out
}
