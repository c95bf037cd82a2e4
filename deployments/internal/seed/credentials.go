package seed

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/courierhook/pipeline/schemas/providers"
)

// Demo credentials. They are public on purpose: devrun configures the gateway with
// them and cmd/demo signs with them. Never use them outside a local run.
const (
	DemoKiriminAjaAPIKey   = "demo-kiriminaja-key"
	DemoDashAuthHeader     = "X-Dash-Token"
	DemoDashAuthValue      = "demo-dash-secret"
	DemoKomerceToken       = "demo-komerce-token"
	DemoSendstackAppSecret = "demo-sendstack-secret"
)

// SendstackSignatureHeader carries Sendstack's hex HMAC-SHA256 (the gateway's
// provider table names the same header).
const SendstackSignatureHeader = "X-Sendstack-Signature"

// ErrUnknownProvider means the provider has no demo authentication here.
var ErrUnknownProvider = errors.New("no demo authentication for provider")

// Credentials are the per-provider secrets, read from the same GATEWAY_* variables
// the gateway reads, so overriding one for devrun overrides it for the demo too.
type Credentials struct {
	KiriminAjaAPIKey   string `env:"GATEWAY_KIRIMINAJA_API_KEY" envDefault:"demo-kiriminaja-key" mask:"true"`
	DashAuthHeader     string `env:"GATEWAY_DASH_AUTH_HEADER" envDefault:"X-Dash-Token"`
	DashAuthValue      string `env:"GATEWAY_DASH_AUTH_VALUE" envDefault:"demo-dash-secret" mask:"true"`
	KomerceToken       string `env:"GATEWAY_KOMERCE_TOKEN" envDefault:"demo-komerce-token" mask:"true"`
	SendstackAppSecret string `env:"GATEWAY_SENDSTACK_APP_SECRET" envDefault:"demo-sendstack-secret" mask:"true"`
}

// Demo returns the documented demo credentials.
func Demo() Credentials {
	return Credentials{
		KiriminAjaAPIKey:   DemoKiriminAjaAPIKey,
		DashAuthHeader:     DemoDashAuthHeader,
		DashAuthValue:      DemoDashAuthValue,
		KomerceToken:       DemoKomerceToken,
		SendstackAppSecret: DemoSendstackAppSecret,
	}
}

// Env renders the credentials as the gateway's environment variables.
func (c Credentials) Env() []string {
	return []string{
		"GATEWAY_KIRIMINAJA_API_KEY=" + c.KiriminAjaAPIKey,
		"GATEWAY_DASH_AUTH_HEADER=" + c.DashAuthHeader,
		"GATEWAY_DASH_AUTH_VALUE=" + c.DashAuthValue,
		"GATEWAY_KOMERCE_TOKEN=" + c.KomerceToken,
		"GATEWAY_SENDSTACK_APP_SECRET=" + c.SendstackAppSecret,
	}
}

// Request builds the authenticated webhook request a provider would send to the
// gateway at base ("http://127.0.0.1:8080"):
//   - kiriminaja: POST with "Authorization: Bearer <api key>"
//   - dash: POST with the merchant-chosen header pair
//   - komerce: PUT (as its examples do) with the secret URL token as a path segment
//   - sendstack: POST with X-Sendstack-Signature = hex HMAC-SHA256(app secret, body)
func (c Credentials) Request(ctx context.Context, base, provider string, body []byte) (*http.Request, error) {
	base = strings.TrimRight(base, "/")
	target := base + "/webhooks/" + url.PathEscape(provider)
	method := http.MethodPost
	hdr := http.Header{}
	switch provider {
	case providers.KiriminAja:
		hdr.Set("Authorization", "Bearer "+c.KiriminAjaAPIKey)
	case providers.Dash:
		hdr.Set(c.DashAuthHeader, c.DashAuthValue)
	case providers.Komerce:
		method = http.MethodPut
		target += "/" + url.PathEscape(c.KomerceToken)
	case providers.Sendstack:
		m := hmac.New(sha256.New, []byte(c.SendstackAppSecret))
		m.Write(body)
		hdr.Set(SendstackSignatureHeader, hex.EncodeToString(m.Sum(nil)))
	default:
		return nil, fmt.Errorf("%s: %w", provider, ErrUnknownProvider)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building %s request: %w", provider, err)
	}
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "courierhook-demo")
	return req, nil
}
