package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrSignature means no v1 signature in the webhook-signature header matches.
	ErrSignature = errors.New("no matching v1 signature")
	// ErrMissingHeaders means webhook-id, webhook-timestamp or webhook-signature is absent.
	ErrMissingHeaders = errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
)

// Verify checks the Standard Webhooks signature of one delivery (headers
// webhook-id, webhook-timestamp, webhook-signature) against secret
// ("whsec_<base64>"): base64 HMAC-SHA256 over "id.timestamp.body", listed as
// "v1,<sig>" entries separated by spaces, any of which may match.
func Verify(secret, id, ts, signature string, body []byte) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	return verify(key, id, ts, signature, body)
}

func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, fmt.Errorf("decoding webhook secret: %w", err)
	}
	return key, nil
}

func verify(key []byte, id, ts, header string, body []byte) error {
	if id == "" || ts == "" || header == "" {
		return ErrMissingHeaders
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for part := range strings.FieldsSeq(header) {
		v, sig, ok := strings.Cut(part, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}
