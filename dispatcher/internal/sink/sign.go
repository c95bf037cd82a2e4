package sink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// secretPrefix starts a Standard Webhooks secret: "whsec_" then the key in base64.
const secretPrefix = "whsec_"

// signer makes Standard Webhooks "v1" signatures with one key: base64 of
// HMAC-SHA256(key, "<id>.<unix seconds>.<body>"), the bytes the reference
// library (github.com/standard-webhooks/.../libraries/go) signs and verifies
// (TestSigner_sameAsLibrary). Unlike its Sign, which formats the three parts
// into a new string, converts that to bytes (two copies of every body) and
// builds a new HMAC per call, it hashes the parts in place with an HMAC reused
// from a pool: the dispatcher signs every delivery of every event.
type signer struct{ macs sync.Pool }

// newSigner decodes secret as the reference library's NewWebhook does (the
// "whsec_" prefix is optional, the rest standard base64).
func newSigner(secret string) (*signer, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return nil, fmt.Errorf("signing secret is not base64: %w", err)
	}
	s := &signer{}
	s.macs.New = func() any { return hmac.New(sha256.New, key) }
	return s, nil
}

// appendSignature appends "v1,<signature>" of (id, unix, body) to dst.
func (s *signer) appendSignature(dst []byte, id string, unix int64, body []byte) []byte {
	mac := s.macs.Get().(hash.Hash)
	mac.Reset()
	var num [20]byte
	_, _ = mac.Write([]byte(id))
	_, _ = mac.Write([]byte{'.'})
	_, _ = mac.Write(strconv.AppendInt(num[:0], unix, 10))
	_, _ = mac.Write([]byte{'.'})
	_, _ = mac.Write(body)
	var sum [sha256.Size]byte
	out := mac.Sum(sum[:0])
	s.macs.Put(mac)
	dst = append(dst, "v1,"...)
	return base64.StdEncoding.AppendEncode(dst, out)
}
