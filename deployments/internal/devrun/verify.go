package devrun

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// VerifyStandardWebhook checks the Standard Webhooks signature of one delivery
// (headers webhook-id, webhook-timestamp, webhook-signature) against secret
// ("whsec_<base64>"). It is the check devrun's own receiver makes, exported for
// other local receivers (internal/e2e's sink).
func VerifyStandardWebhook(secret, id, ts, signature string, body []byte) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("decoding webhook secret: %w", err)
	}
	return verifyStandardWebhook(key, id, ts, signature, body)
}
