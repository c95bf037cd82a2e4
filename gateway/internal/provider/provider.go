package provider

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/courierhook/pipeline/gateway/internal/auth"
	"github.com/courierhook/pipeline/schemas/providers"
)

// Provider is one row of the table with its secrets applied: everything the
// generic webhook handler needs to know about a provider.
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
	// Head runs before the body is read: source allowlist, header and URL
	// credentials. A request it refuses costs no body buffer.
	Head auth.Verifier
	// Body runs after the body is read (HMAC over the body); nil when the
	// provider's checks are all in Head.
	Body auth.Verifier
	// Open is true when the provider is configured "auth: none" and has no
	// credential: it accepts unauthenticated requests.
	Open bool
	// Closed is true when the provider has no credential and is not "none": it
	// refuses every request (fail closed).
	Closed bool
	// WeakSignature is true when the provider accepts a signature that does not
	// cover the body (Sendstack "webhookid"/"webhookid-json"; opt-in).
	WeakSignature bool
}

// Allows reports whether method is allowed.
func (p *Provider) Allows(method string) bool { return slices.Contains(p.Methods, method) }

// Preset turns a provider's secrets into its primary verifier. It returns nil
// when the secret it needs is missing (the provider then fails closed), and an
// error when the secrets are set but unusable.
type Preset func(s Secrets, replay *auth.ReplayGuard) (auth.Verifier, error)

// Spec is a table row before secrets are applied.
type Spec struct {
	Name    string
	Methods []string
	JSON    bool
	Key     KeyFunc
	Preset  Preset
	// SignsBody says the preset reads the body (HMAC): it runs after the body
	// is read. Every other preset runs before.
	SignsBody bool
	// Sign is the client side of Preset: it makes a request authentic the
	// way the provider does (NewRequest; the load tool and tests use it).
	// nil when the provider sends no credential of its own (URL token only).
	Sign Signer
	// Demo are the row's demo secrets, enough to pass its checks. They are
	// public on purpose, for local runs only (Demo): devrun gives them to the
	// gateway and the demo signs with them; the gateway never uses them itself.
	Demo Secrets
}

// SignatureHeaderSendstack carries Sendstack's hex HMAC-SHA256.
const SignatureHeaderSendstack = "X-Sendstack-Signature"

// Table is the provider table. Adding a provider is one row here (plus its key
// function, its name in schemas/providers and its seed payloads there); its
// GATEWAY_<NAME>_* variables, its route, the startup log, the load tool's
// requests and the demo credentials (package client) all follow from the row.
var Table = []Spec{
	{Name: providers.KiriminAja, Methods: []string{http.MethodPost}, JSON: true, Key: KiriminAjaKey,
		Preset: func(s Secrets, _ *auth.ReplayGuard) (auth.Verifier, error) {
			return when(len(s.APIKey) > 0, auth.Bearer(s.APIKey...)), nil
		},
		Sign: func(r *http.Request, _ []byte, s Secrets) { r.Header.Set("Authorization", "Bearer "+first(s.APIKey)) },
		Demo: Secrets{APIKey: SecretList{"demo-kiriminaja-key"}}},
	{Name: providers.Dash, Methods: []string{http.MethodPost}, JSON: true, Key: DashKey,
		Preset: func(s Secrets, _ *auth.ReplayGuard) (auth.Verifier, error) {
			return when(s.AuthHeader != "" && len(s.AuthValue) > 0, auth.HeaderPair(s.AuthHeader, s.AuthValue...)), nil
		},
		Sign: func(r *http.Request, _ []byte, s Secrets) { r.Header.Set(s.AuthHeader, first(s.AuthValue)) },
		Demo: Secrets{AuthHeader: "X-Dash-Token", AuthValue: SecretList{"demo-dash-secret"}}},
	{Name: providers.Komerce, Methods: []string{http.MethodPut, http.MethodPost}, JSON: true, Key: KomerceKey,
		Preset: func(Secrets, *auth.ReplayGuard) (auth.Verifier, error) { return nil, nil }, // signs nothing: the URL token is its only secret
		Demo:   Secrets{Token: SecretList{"demo-komerce-token"}}},
	{Name: providers.Sendstack, Methods: []string{http.MethodPost}, JSON: true, Key: SendstackKey, SignsBody: true,
		Preset: func(s Secrets, replay *auth.ReplayGuard) (auth.Verifier, error) {
			if len(s.AppSecret) == 0 {
				return nil, nil
			}
			return auth.SendstackHMAC(auth.HMACOptions{Header: SignatureHeaderSendstack, Secrets: s.AppSecret,
				Messages: s.Signature, WebhookID: SendstackWebhookID, Replay: replay})
		},
		// Over the body: the gateway's default signature message.
		Sign: func(r *http.Request, body []byte, s Secrets) {
			r.Header.Set(SignatureHeaderSendstack, auth.Sign(first(s.AppSecret), body))
		},
		Demo: Secrets{AppSecret: SecretList{"demo-sendstack-secret"}}},
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

var (
	// ErrUnknownProvider is returned for secrets configured for a provider that is not in the table.
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrAuthMode is returned for an Auth value other than "" or "none".
	ErrAuthMode = errors.New(`auth: want "" or "none"`)
)

// Build applies secrets (by provider name) to the table. It is the one place
// that decides what a provider accepts; the startup log reads its result
// (Open, Closed, WeakSignature), so what is logged is what is enforced.
//
// A provider's checks are: the source allowlist if set, the preset if its
// secret is set, the URL token if set, all required. With neither a preset
// secret nor a token it refuses everything (auth.Deny), unless its Auth is
// "none" (read trimmed and case-insensitively). replay (may be nil: a fresh
// one is made) remembers webhookIds for weak signature variants.
func Build(secrets map[string]Secrets, replay *auth.ReplayGuard) (map[string]*Provider, error) {
	for name := range secrets {
		if !slices.Contains(Names(), name) {
			return nil, fmt.Errorf("secrets for %q: %w", name, ErrUnknownProvider)
		}
	}
	if replay == nil {
		replay = auth.NewReplayGuard(0, 0)
	}
	out := make(map[string]*Provider, len(Table))
	for _, spec := range Table {
		p, err := build(spec, secrets[spec.Name], replay)
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", spec.Name, err)
		}
		out[spec.Name] = p
	}
	return out, nil
}

func build(spec Spec, s Secrets, replay *auth.ReplayGuard) (*Provider, error) {
	p := &Provider{Name: spec.Name, Methods: spec.Methods, JSON: spec.JSON, Key: spec.Key}
	var head []auth.Verifier
	if len(s.AllowCIDRs) > 0 {
		v, err := auth.AllowCIDRs(s.AllowCIDRs)
		if err != nil {
			return nil, err
		}
		head = append(head, v)
	}
	credentials := 0
	preset, err := spec.Preset(s, replay)
	if err != nil {
		return nil, err
	}
	if preset != nil {
		credentials++
		if spec.SignsBody {
			p.Body = preset
			msgs, _ := auth.ParseMessages(s.Signature) // already accepted by the preset
			p.WeakSignature = auth.Weak(msgs)
		} else {
			head = append(head, preset)
		}
	}
	if len(s.Token) > 0 {
		head = append(head, auth.URLToken(s.Token...))
		credentials++
	}
	switch mode := strings.ToLower(strings.TrimSpace(s.Auth)); {
	case mode != "" && mode != "none":
		return nil, fmt.Errorf("%q: %w", s.Auth, ErrAuthMode)
	case credentials > 0:
	case mode == "none":
		p.Open = true
		head = append(head, auth.None())
	default:
		p.Closed = true
		head = []auth.Verifier{auth.Deny()}
	}
	p.Head = auth.All(head...)
	return p, nil
}
