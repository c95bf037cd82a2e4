package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

var (
	// ErrNotConfigured means the provider has no secret configured and was not
	// explicitly set to "none": it refuses every request (fail closed).
	ErrNotConfigured = errors.New("provider authentication not configured")
	// ErrMissingCredential means the request carried no credential where one is required.
	ErrMissingCredential = errors.New("missing credential")
	// ErrMismatch means the request's credential does not match the configured secret.
	ErrMismatch = errors.New("credential mismatch")
	// ErrSourceIP means the request's source address is outside the allowlist.
	ErrSourceIP = errors.New("source address not allowed")
)

// Variant names reported by the presets; they become the raw record's "auth"
// header and a metric label.
const (
	VariantBearer           = "bearer"
	VariantHeader           = "header"
	VariantHMACWebhookID    = "hmac-webhookid"
	VariantHMACWebhookIDRaw = "hmac-webhookid-json"
	VariantHMACBody         = "hmac-body"
	VariantURLToken         = "url-token"
	VariantNone             = "none"
)

// Request is what a Verifier may look at. Body is the complete (decompressed)
// request body; Token is the URL token from the path segment or ?token= query.
type Request struct {
	Header   http.Header
	Body     []byte
	Token    string
	RemoteIP netip.Addr
}

// Verifier authenticates one request. It returns the name of the variant that
// matched, or an error wrapping one of the package's sentinels. Implementations
// must be safe for concurrent use, do no I/O and compare secrets in constant time.
type Verifier interface {
	Verify(r *Request) (variant string, err error)
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(r *Request) (string, error)

// Verify calls f.
func (f VerifierFunc) Verify(r *Request) (string, error) { return f(r) }

// Deny refuses every request with ErrNotConfigured. It is what a provider without
// a secret gets, so a forgotten secret never opens the endpoint.
func Deny() Verifier {
	return VerifierFunc(func(*Request) (string, error) { return "", ErrNotConfigured })
}

// None accepts every request. Only an explicit `auth: none` configuration uses it.
func None() Verifier {
	return VerifierFunc(func(*Request) (string, error) { return VariantNone, nil })
}

// equal compares in constant time (for equal lengths; the length itself leaks,
// as with hmac.Equal, which is acceptable for random secrets).
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Bearer checks `Authorization: Bearer <key>` with a case-insensitive scheme
// (KiriminAja echoes the partner's own API key this way).
func Bearer(key string) Verifier {
	if key == "" {
		return Deny()
	}
	return VerifierFunc(func(r *Request) (string, error) {
		h := r.Header.Get("Authorization")
		if h == "" {
			return "", ErrMissingCredential
		}
		scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
		if !ok || !strings.EqualFold(scheme, "bearer") {
			return "", fmt.Errorf("authorization scheme: %w", ErrMismatch)
		}
		if !equal(strings.TrimSpace(tok), key) {
			return "", ErrMismatch
		}
		return VariantBearer, nil
	})
}

// HeaderPair checks that header name carries exactly value (Dash lets the
// merchant choose both in its portal).
func HeaderPair(name, value string) Verifier {
	if name == "" || value == "" {
		return Deny()
	}
	return VerifierFunc(func(r *Request) (string, error) {
		vals := r.Header.Values(name)
		if len(vals) == 0 {
			return "", ErrMissingCredential
		}
		if len(vals) != 1 || !equal(vals[0], value) {
			return "", ErrMismatch
		}
		return VariantHeader, nil
	})
}

// WebhookIDFunc reads the id a signature may cover from the body; ok is false
// when the body has none.
type WebhookIDFunc func(body []byte) (id string, ok bool)

// SendstackHMAC checks a hex HMAC-SHA256 (key = app secret) in header over any of
// the three messages the Sendstack docs disagree on: the webhookId, the
// JSON-quoted webhookId (what `JSON.stringify(payload.webhookId)` yields), or the
// raw body. The variant that matched is returned so operators learn which one
// Sendstack really uses.
func SendstackHMAC(header, secret string, webhookID WebhookIDFunc) Verifier {
	if header == "" || secret == "" {
		return Deny()
	}
	key := []byte(secret)
	return VerifierFunc(func(r *Request) (string, error) {
		sigHex := strings.TrimSpace(r.Header.Get(header))
		if sigHex == "" {
			return "", ErrMissingCredential
		}
		sig, err := hex.DecodeString(sigHex)
		if err != nil || len(sig) != sha256.Size {
			return "", fmt.Errorf("signature encoding: %w", ErrMismatch)
		}
		// Every candidate is computed and compared so the time taken does not tell
		// which variant nearly matched.
		matched := ""
		if id, ok := webhookID(r.Body); ok {
			if hmac.Equal(sig, mac(key, []byte(id))) {
				matched = VariantHMACWebhookID
			}
			if hmac.Equal(sig, mac(key, []byte(`"`+id+`"`))) && matched == "" {
				matched = VariantHMACWebhookIDRaw
			}
		}
		if hmac.Equal(sig, mac(key, r.Body)) && matched == "" {
			matched = VariantHMACBody
		}
		if matched == "" {
			return "", ErrMismatch
		}
		return matched, nil
	})
}

// Sign returns the hex HMAC-SHA256 of msg with secret: what SendstackHMAC accepts.
// Tests and the load tool use it.
func Sign(secret string, msg []byte) string {
	return hex.EncodeToString(mac([]byte(secret), msg))
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// URLToken checks the secret token carried in the webhook URL (path segment or
// ?token= query), for providers that sign nothing (Komerce).
func URLToken(token string) Verifier {
	if token == "" {
		return Deny()
	}
	return VerifierFunc(func(r *Request) (string, error) {
		if r.Token == "" {
			return "", ErrMissingCredential
		}
		if !equal(r.Token, token) {
			return "", ErrMismatch
		}
		return VariantURLToken, nil
	})
}

// All requires every verifier to pass, in order, and joins their variants with
// "+" ("bearer+url-token"). Variants "" (pure filters such as an IP allowlist)
// are left out.
func All(vs ...Verifier) Verifier {
	return VerifierFunc(func(r *Request) (string, error) {
		var parts []string
		for _, v := range vs {
			variant, err := v.Verify(r)
			if err != nil {
				return "", err
			}
			if variant != "" {
				parts = append(parts, variant)
			}
		}
		if len(parts) == 0 {
			return VariantNone, nil
		}
		return strings.Join(parts, "+"), nil
	})
}

// AllowCIDRs passes requests whose source address is inside one of the prefixes.
// It reports no variant of its own; combine it with All.
func AllowCIDRs(cidrs []string) (Verifier, error) {
	prefixes := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("parsing CIDR %q: %w", c, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		prefixes = append(prefixes, p.Masked())
	}
	return VerifierFunc(func(r *Request) (string, error) {
		ip := r.RemoteIP.Unmap()
		for _, p := range prefixes {
			if p.Contains(ip) {
				return "", nil
			}
		}
		return "", ErrSourceIP
	}), nil
}

// RemoteAddr parses the host part of an http.Request.RemoteAddr.
func RemoteAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, _ := netip.ParseAddr(host)
	return a
}
