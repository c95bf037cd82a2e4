package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// What a Sendstack signature may cover (HMACOptions.Messages). Sendstack's two
// sets of docs disagree (PROVIDERS.md §4.2): the older says the JSON payload,
// the current one the webhookId, and its published code signs the JSON-quoted
// webhookId.
const (
	// MessageBody is the raw body: the signature authenticates every byte. The default.
	MessageBody = "body"
	// MessageWebhookID is the bare webhookId. Weak: one captured signature lets
	// anyone post any body under that webhookId; opt-in, with a ReplayGuard.
	MessageWebhookID = "webhookid"
	// MessageWebhookIDJSON is the JSON-quoted webhookId (`JSON.stringify(id)`).
	// Weak in the same way as MessageWebhookID.
	MessageWebhookIDJSON = "webhookid-json"
)

// ParseMessages normalises a list of signature messages (trimmed, lower-case,
// duplicates dropped) and checks each is known; an empty list is [MessageBody].
func ParseMessages(in []string) ([]string, error) {
	var out []string
	for _, m := range in {
		m = strings.ToLower(strings.TrimSpace(m))
		switch m {
		case "":
			continue
		case MessageBody, MessageWebhookID, MessageWebhookIDJSON:
		default:
			return nil, fmt.Errorf("signature message %q: want %s, %s or %s: %w", m, MessageBody, MessageWebhookID, MessageWebhookIDJSON, ErrConfig)
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		out = []string{MessageBody}
	}
	return out, nil
}

// Weak reports whether messages accept a signature that does not cover the body.
func Weak(messages []string) bool {
	return slices.ContainsFunc(messages, func(m string) bool { return m != MessageBody })
}

// WebhookIDFunc reads the id a signature may cover from the body; ok is false
// when the body has none.
type WebhookIDFunc func(body []byte) (id string, ok bool)

// HMACOptions configures SendstackHMAC.
type HMACOptions struct {
	// Header carries the hex HMAC-SHA256.
	Header string
	// Secrets are the keys tried, each in constant time; several let an operator
	// rotate (the index that matched is reported in Match.Secret).
	Secrets []string
	// Messages is what the signature may cover (ParseMessages); empty means
	// body only. The body is always accepted: it is the strongest.
	Messages []string
	// WebhookID reads the id for the weak messages.
	WebhookID WebhookIDFunc
	// Replay refuses a webhookId seen before with a different body when a weak
	// message matched. Required when Messages holds a weak message.
	Replay *ReplayGuard
}

// SendstackHMAC checks a hex HMAC-SHA256 in o.Header, keyed by any of
// o.Secrets, over each message o.Messages allows. It reads Request.Body, so it
// runs after the body is read. With a weak message allowed, a signature over
// the body is still accepted (it is strictly stronger), and a weak match is
// passed through o.Replay.
func SendstackHMAC(o HMACOptions) (Verifier, error) {
	secrets := usable(o.Secrets)
	if o.Header == "" || len(secrets) == 0 {
		return Deny(), nil
	}
	msgs, err := ParseMessages(o.Messages)
	if err != nil {
		return nil, err
	}
	weakID := slices.Contains(msgs, MessageWebhookID)
	weakJSON := slices.Contains(msgs, MessageWebhookIDJSON)
	if (weakID || weakJSON) && (o.Replay == nil || o.WebhookID == nil) {
		return nil, fmt.Errorf("a weak signature message needs a webhookId reader and a replay guard: %w", ErrConfig)
	}
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s)
	}
	return VerifierFunc(func(r *Request) (Match, error) {
		sigHex := strings.TrimSpace(r.Header.Get(o.Header))
		if sigHex == "" {
			return Match{}, ErrMissingCredential
		}
		sig, err := hex.DecodeString(sigHex)
		if err != nil || len(sig) != sha256.Size {
			return Match{}, fmt.Errorf("signature encoding: %w", ErrMismatch)
		}
		id, hasID := "", false
		if weakID || weakJSON {
			id, hasID = o.WebhookID(r.Body)
		}
		// Every candidate of every key is computed and compared, so the time
		// taken does not tell which variant or key nearly matched.
		variant, secret := "", -1
		try := func(ok bool, v string, i int) {
			if ok && variant == "" {
				variant, secret = v, i
			}
		}
		for i, k := range keys {
			try(hmac.Equal(sig, mac(k, r.Body)), VariantHMACBody, i)
			if weakID && hasID {
				try(hmac.Equal(sig, mac(k, []byte(id))), VariantHMACWebhookID, i)
			}
			if weakJSON && hasID {
				try(hmac.Equal(sig, mac(k, JSONString(id))), VariantHMACWebhookIDRaw, i)
			}
		}
		if variant == "" {
			return Match{}, ErrMismatch
		}
		if variant != VariantHMACBody {
			if err := o.Replay.Check(id, r.Body); err != nil {
				return Match{}, err
			}
		}
		return Match{Variant: variant, Secret: strconv.Itoa(secret)}, nil
	}), nil
}

// JSONString is s as JavaScript's JSON.stringify(s) writes it, the message a
// sender signing "JSON.stringify(webhookId)" signs: quoted, with `"` and `\`
// escaped, \b \f \n \r \t in their short forms and other control characters
// as \u00xx; everything else as it is (unlike encoding/json, which also escapes
// <, >, &, U+2028 and U+2029).
func JSONString(s string) []byte {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if c < 0x20 {
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
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
