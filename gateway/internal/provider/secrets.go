package provider

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SecretList is one or more secrets for the same credential, accepted at once
// so an operator can rotate without a window of 401s: configure "new,old",
// wait until the old one's index stops appearing in
// gateway_auth_secret_total, then configure "new". In the environment it is a
// comma-separated list (so a secret cannot contain a comma); in the providers
// file a string (split the same way) or a YAML list. Entries are trimmed and
// empty ones dropped.
type SecretList []string

// UnmarshalText splits a comma-separated list (the environment's form).
func (l *SecretList) UnmarshalText(b []byte) error {
	*l = splitSecrets(string(b))
	return nil
}

// UnmarshalYAML accepts a string (split on commas) or a list of strings.
func (l *SecretList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = splitSecrets(n.Value)
		return nil
	case yaml.SequenceNode:
		var items []string
		if err := n.Decode(&items); err != nil {
			return err
		}
		var out SecretList
		for _, it := range items {
			out = append(out, splitSecrets(it)...)
		}
		*l = out
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

// String masks the secrets (it is what a stray %v or zap.Any would print).
func (l SecretList) String() string {
	if len(l) == 0 {
		return ""
	}
	return fmt.Sprintf("*** (%d)", len(l))
}

func splitSecrets(s string) SecretList {
	var out SecretList
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Secrets configures one provider's authentication. Every field is optional; which
// ones matter depends on the provider's preset. Filled from GATEWAY_<NAME>_* env
// variables or the providers YAML file.
type Secrets struct {
	// Auth is "" (use the preset) or "none" (accept unauthenticated requests; the
	// only way to open an endpoint without a secret, logged loudly at startup).
	// Build reads it trimmed and case-insensitively; anything else is an error.
	Auth string `env:"AUTH" yaml:"auth"`
	// APIKey is KiriminAja's bearer key (your own KiriminAja API key).
	APIKey SecretList `env:"API_KEY" yaml:"api_key" mask:"true"`
	// AuthHeader and AuthValue are Dash's header pair, chosen in its portal.
	AuthHeader string     `env:"AUTH_HEADER" yaml:"auth_header"`
	AuthValue  SecretList `env:"AUTH_VALUE" yaml:"auth_value" mask:"true"`
	// AppSecret keys Sendstack's HMAC signature.
	AppSecret SecretList `env:"APP_SECRET" yaml:"app_secret" mask:"true"`
	// Signature is what Sendstack's signature may cover (auth.ParseMessages):
	// "body" (the default) or, opt-in and logged as a warning at start, the
	// weaker "webhookid" / "webhookid-json" (comma-separated, body is always
	// accepted too). Only HMAC presets read it.
	Signature []string `env:"SIGNATURE" envSeparator:"," yaml:"signature"`
	// Token is a secret URL token (/webhooks/<name>/<token> or ?token=). It is the
	// preset for Komerce and an extra check for any other provider when set.
	Token SecretList `env:"TOKEN" yaml:"token" mask:"true"`
	// AllowCIDRs restricts client addresses: the TCP peer, or the
	// X-Forwarded-For client when the peer is a trusted proxy
	// (GATEWAY_TRUSTED_PROXIES).
	AllowCIDRs []string `env:"ALLOW_CIDRS" envSeparator:"," yaml:"allow_cidrs"`
}

// merge overlays the non-empty fields of o onto s (environment over file).
func (s Secrets) merge(o Secrets) Secrets {
	pick := func(a, b string) string {
		if b != "" {
			return b
		}
		return a
	}
	s.Auth = pick(s.Auth, o.Auth)
	s.AuthHeader = pick(s.AuthHeader, o.AuthHeader)
	for _, f := range []struct{ dst, src *SecretList }{{&s.APIKey, &o.APIKey}, {&s.AuthValue, &o.AuthValue}, {&s.AppSecret, &o.AppSecret}, {&s.Token, &o.Token}} {
		if len(*f.src) > 0 {
			*f.dst = *f.src
		}
	}
	if len(o.Signature) > 0 {
		s.Signature = o.Signature
	}
	if len(o.AllowCIDRs) > 0 {
		s.AllowCIDRs = o.AllowCIDRs
	}
	return s
}

// LoadFile reads a providers YAML file: a map from provider name to Secrets.
// Unknown keys are an error (a misspelt "app_secert" would otherwise leave the
// provider closed, or worse, an allowlist silently unset).
//
//	kiriminaja: {api_key: "..."}
//	dash: {auth_header: X-Dash-Token, auth_value: ["new", "old"]}
//	komerce: {token: "...", allow_cidrs: [203.0.113.0/24]}
//	sendstack: {app_secret: "...", signature: [body]}
func LoadFile(path string) (map[string]Secrets, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading providers file: %w", err)
	}
	out := map[string]Secrets{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&out); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parsing providers file: %w", err)
	}
	return out, nil
}

// Merge overlays env (non-empty fields win) onto file.
func Merge(file, env map[string]Secrets) map[string]Secrets {
	out := map[string]Secrets{}
	for k, v := range file {
		out[k] = v
	}
	for k, v := range env {
		out[k] = out[k].merge(v)
	}
	return out
}
