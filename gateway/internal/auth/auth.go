package auth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

var (
	// ErrNotConfigured means the provider has no secret configured and was not
	// explicitly set to "none": it refuses every request (fail closed).
	ErrNotConfigured = errors.New("provider authentication not configured")
	// ErrMissingCredential means the request carried no credential where one is required.
	ErrMissingCredential = errors.New("missing credential")
	// ErrMismatch means the request's credential does not match any configured secret.
	ErrMismatch = errors.New("credential mismatch")
	// ErrSourceIP means the request's source address is outside the allowlist.
	ErrSourceIP = errors.New("source address not allowed")
	// ErrReplay means a signature that does not cover the body was presented for
	// a webhookId already seen with a different body (see ReplayGuard).
	ErrReplay = errors.New("webhookId seen before with a different body")
	// ErrConfig is returned by constructors given a configuration they cannot
	// honour (an unknown signature message, a weak one without a replay guard).
	ErrConfig = errors.New("invalid auth configuration")
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
// request body, nil for verifiers that run before the body is read; Token is
// the URL token from the path segment or ?token= query; RemoteIP is the client
// address (the TCP peer, or the X-Forwarded-For address a trusted proxy vouches
// for, see TrustedProxies).
type Request struct {
	Header   http.Header
	Body     []byte
	Token    string
	RemoteIP netip.Addr
}

// Match is what a successful verification reports.
type Match struct {
	// Variant names the scheme that matched ("bearer", "hmac-body"; several
	// joined with "+"). It becomes the record's "auth" header.
	Variant string
	// Secret is the index, in the configured list, of the secret that matched
	// ("0" for the first, "1" for the second; several joined with "+" in the
	// order of Variant), or "" when no secret was involved. It is a metric label
	// so an operator rotating secrets sees when the old one is no longer used;
	// it never carries the secret itself.
	Secret string
}

// Verifier authenticates one request. It returns what matched, or an error
// wrapping one of the package's sentinels. Implementations must be safe for
// concurrent use, do no I/O and compare secrets in constant time.
type Verifier interface {
	Verify(r *Request) (Match, error)
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(r *Request) (Match, error)

// Verify calls f.
func (f VerifierFunc) Verify(r *Request) (Match, error) { return f(r) }

// Deny refuses every request with ErrNotConfigured. It is what a provider without
// a secret gets, so a forgotten secret never opens the endpoint.
func Deny() Verifier {
	return VerifierFunc(func(*Request) (Match, error) { return Match{}, ErrNotConfigured })
}

// None accepts every request. Only an explicit `auth: none` configuration uses it.
func None() Verifier {
	return VerifierFunc(func(*Request) (Match, error) { return Match{Variant: VariantNone}, nil })
}

// equal compares in constant time (for equal lengths; the length itself leaks,
// as with hmac.Equal, which is acceptable for random secrets).
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// index returns the position of got in secrets, or -1. Every secret is
// compared (constant time each, no early exit), so the time taken does not
// tell which one nearly matched.
func index(got string, secrets []string) int {
	found := -1
	for i, s := range secrets {
		if equal(got, s) && found < 0 {
			found = i
		}
	}
	return found
}

// usable drops empty secrets: an empty entry must never match an empty credential.
func usable(secrets []string) []string {
	out := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Bearer checks `Authorization: Bearer <key>` with a case-insensitive scheme
// against each of keys (KiriminAja echoes the partner's own API key this way;
// several keys let an operator rotate without a window of 401s).
func Bearer(keys ...string) Verifier {
	keys = usable(keys)
	if len(keys) == 0 {
		return Deny()
	}
	return VerifierFunc(func(r *Request) (Match, error) {
		h := r.Header.Get("Authorization")
		if h == "" {
			return Match{}, ErrMissingCredential
		}
		scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
		if !ok || !strings.EqualFold(scheme, "bearer") {
			return Match{}, fmt.Errorf("authorization scheme: %w", ErrMismatch)
		}
		i := index(strings.TrimSpace(tok), keys)
		if i < 0 {
			return Match{}, ErrMismatch
		}
		return Match{Variant: VariantBearer, Secret: strconv.Itoa(i)}, nil
	})
}

// HeaderPair checks that header name carries exactly one of values (Dash lets
// the merchant choose both in its portal).
func HeaderPair(name string, values ...string) Verifier {
	values = usable(values)
	if name == "" || len(values) == 0 {
		return Deny()
	}
	return VerifierFunc(func(r *Request) (Match, error) {
		vals := r.Header.Values(name)
		if len(vals) == 0 {
			return Match{}, ErrMissingCredential
		}
		if len(vals) != 1 {
			return Match{}, ErrMismatch
		}
		i := index(vals[0], values)
		if i < 0 {
			return Match{}, ErrMismatch
		}
		return Match{Variant: VariantHeader, Secret: strconv.Itoa(i)}, nil
	})
}

// URLToken checks the secret token carried in the webhook URL (path segment or
// ?token= query) against each of tokens, for providers that sign nothing (Komerce).
func URLToken(tokens ...string) Verifier {
	tokens = usable(tokens)
	if len(tokens) == 0 {
		return Deny()
	}
	return VerifierFunc(func(r *Request) (Match, error) {
		if r.Token == "" {
			return Match{}, ErrMissingCredential
		}
		i := index(r.Token, tokens)
		if i < 0 {
			return Match{}, ErrMismatch
		}
		return Match{Variant: VariantURLToken, Secret: strconv.Itoa(i)}, nil
	})
}

// All requires every verifier to pass, in order, and joins their variants and
// secret indexes with "+" ("bearer+url-token", "0+1"). Empty parts (pure
// filters such as an IP allowlist) are left out, so a chain of filters alone
// reports an empty Variant: the caller records that as "none".
func All(vs ...Verifier) Verifier {
	return VerifierFunc(func(r *Request) (Match, error) {
		var out Match
		for _, v := range vs {
			m, err := v.Verify(r)
			if err != nil {
				return Match{}, err
			}
			out = Join(out, m)
		}
		return out, nil
	})
}

// Join appends b's parts to a's with "+" (see All).
func Join(a, b Match) Match {
	return Match{Variant: join(a.Variant, b.Variant), Secret: join(a.Secret, b.Secret)}
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "+" + b
}
