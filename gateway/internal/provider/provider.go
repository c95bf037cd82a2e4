package provider

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/courierhook/pipeline/gateway/internal/auth"
)

// Provider is one row of the table: everything the generic webhook handler needs
// to know about a provider.
type Provider struct {
	// Name is the route segment (/webhooks/<name>) and the raw record's "provider"
	// header; the normalizer keys its adapters on it.
	Name string
	// Methods are the HTTP methods the provider pushes with; others get 405.
	Methods []string
	// JSON requires the body to be valid JSON (400 otherwise).
	JSON bool
	// Key reads the record key; "" falls back to Name.
	Key KeyFunc
	// Auth is the verifier built from the provider's secrets (see Build).
	Auth auth.Verifier
}

// Allows reports whether method is allowed.
func (p *Provider) Allows(method string) bool { return slices.Contains(p.Methods, method) }

// Secrets configures one provider's authentication. Every field is optional; which
// ones matter depends on the provider's preset. Filled from GATEWAY_<NAME>_* env
// variables or the providers YAML file.
type Secrets struct {
	// Auth is "" (use the preset) or "none" (accept unauthenticated requests; the
	// only way to open an endpoint without a secret, logged loudly at startup).
	Auth string `env:"AUTH" yaml:"auth"`
	// APIKey is KiriminAja's bearer key (your own KiriminAja API key).
	APIKey string `env:"API_KEY" yaml:"api_key" mask:"true"`
	// AuthHeader and AuthValue are Dash's header pair, chosen in its portal.
	AuthHeader string `env:"AUTH_HEADER" yaml:"auth_header"`
	AuthValue  string `env:"AUTH_VALUE" yaml:"auth_value" mask:"true"`
	// AppSecret keys Sendstack's HMAC signature.
	AppSecret string `env:"APP_SECRET" yaml:"app_secret" mask:"true"`
	// Token is a secret URL token (/webhooks/<name>/<token> or ?token=). It is the
	// preset for Komerce and an extra check for any other provider when set.
	Token string `env:"TOKEN" yaml:"token" mask:"true"`
	// AllowCIDRs restricts source addresses (the TCP peer, not X-Forwarded-For).
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
	s.APIKey = pick(s.APIKey, o.APIKey)
	s.AuthHeader = pick(s.AuthHeader, o.AuthHeader)
	s.AuthValue = pick(s.AuthValue, o.AuthValue)
	s.AppSecret = pick(s.AppSecret, o.AppSecret)
	s.Token = pick(s.Token, o.Token)
	if len(o.AllowCIDRs) > 0 {
		s.AllowCIDRs = o.AllowCIDRs
	}
	return s
}

// Spec is a table row before secrets are applied: Preset turns the provider's
// secrets into its primary verifier, or returns nil when the secret it needs is
// missing (the provider then fails closed).
type Spec struct {
	Name    string
	Methods []string
	JSON    bool
	Key     KeyFunc
	Preset  func(s Secrets) auth.Verifier
}

// SignatureHeaderSendstack carries Sendstack's hex HMAC-SHA256.
const SignatureHeaderSendstack = "X-Sendstack-Signature"

// Table is the provider table. Adding a provider is one row here (plus its key
// function and testdata/<name>/ fixtures).
var Table = []Spec{
	{Name: "kiriminaja", Methods: []string{http.MethodPost}, JSON: true, Key: KiriminAjaKey,
		Preset: func(s Secrets) auth.Verifier { return when(s.APIKey != "", auth.Bearer(s.APIKey)) }},
	{Name: "dash", Methods: []string{http.MethodPost}, JSON: true, Key: DashKey,
		Preset: func(s Secrets) auth.Verifier {
			return when(s.AuthHeader != "" && s.AuthValue != "", auth.HeaderPair(s.AuthHeader, s.AuthValue))
		}},
	{Name: "komerce", Methods: []string{http.MethodPut, http.MethodPost}, JSON: true, Key: KomerceKey,
		Preset: func(Secrets) auth.Verifier { return nil }}, // signs nothing: the URL token is its only secret
	{Name: "sendstack", Methods: []string{http.MethodPost}, JSON: true, Key: SendstackKey,
		Preset: func(s Secrets) auth.Verifier {
			return when(s.AppSecret != "", auth.SendstackHMAC(SignatureHeaderSendstack, s.AppSecret, SendstackWebhookID))
		}},
}

func when(ok bool, v auth.Verifier) auth.Verifier {
	if !ok {
		return nil
	}
	return v
}

// Names lists the table's provider names in order.
func Names() []string {
	out := make([]string, 0, len(Table))
	for _, s := range Table {
		out = append(out, s.Name)
	}
	return out
}

// ErrUnknownProvider is returned for secrets configured for a provider that is not in the table.
var ErrUnknownProvider = errors.New("unknown provider")

// Build applies secrets (by provider name) to the table. A provider's verifier is
// All(source-IP allowlist if set, preset if its secret is set, URL token if set).
// With neither a preset secret nor a token it refuses everything (auth.Deny),
// unless its Auth is "none". open lists the providers configured as "none".
func Build(secrets map[string]Secrets) (providers map[string]*Provider, open []string, err error) {
	for name := range secrets {
		if !slices.Contains(Names(), name) {
			return nil, nil, fmt.Errorf("secrets for %q: %w", name, ErrUnknownProvider)
		}
	}
	providers = make(map[string]*Provider, len(Table))
	for _, spec := range Table {
		s := secrets[spec.Name]
		var checks []auth.Verifier
		if len(s.AllowCIDRs) > 0 {
			v, err := auth.AllowCIDRs(s.AllowCIDRs)
			if err != nil {
				return nil, nil, fmt.Errorf("provider %s: %w", spec.Name, err)
			}
			checks = append(checks, v)
		}
		primary := 0
		if v := spec.Preset(s); v != nil {
			checks = append(checks, v)
			primary++
		}
		if s.Token != "" {
			checks = append(checks, auth.URLToken(s.Token))
			primary++
		}
		switch mode := strings.ToLower(strings.TrimSpace(s.Auth)); {
		case mode == "none":
			open = append(open, spec.Name)
			if primary == 0 {
				checks = append(checks, auth.None())
			}
		case mode != "":
			return nil, nil, fmt.Errorf("provider %s: auth %q: want \"\" or \"none\"", spec.Name, s.Auth)
		case primary == 0:
			checks = []auth.Verifier{auth.Deny()}
		}
		providers[spec.Name] = &Provider{
			Name: spec.Name, Methods: spec.Methods, JSON: spec.JSON, Key: spec.Key,
			Auth: auth.All(checks...),
		}
	}
	return providers, open, nil
}

// Configured reports, per provider, whether it can accept anything (has a secret
// or is explicitly "none"); the startup log and /readyz show it.
func Configured(secrets map[string]Secrets) map[string]bool {
	out := map[string]bool{}
	for _, spec := range Table {
		s := secrets[spec.Name]
		out[spec.Name] = spec.Preset(s) != nil || s.Token != "" || strings.EqualFold(s.Auth, "none")
	}
	return out
}

// LoadFile reads a providers YAML file: a map from provider name to Secrets.
//
//	kiriminaja: {api_key: "..."}
//	dash: {auth_header: X-Dash-Token, auth_value: "..."}
//	komerce: {token: "...", allow_cidrs: [203.0.113.0/24]}
//	sendstack: {app_secret: "..."}
func LoadFile(path string) (map[string]Secrets, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading providers file: %w", err)
	}
	out := map[string]Secrets{}
	if err := yaml.Unmarshal(b, &out); err != nil {
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
