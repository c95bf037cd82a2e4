package auth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/auth"
)

func webhookID(body []byte) (string, bool) { return "wh-1", true }

func TestVerifiers(t *testing.T) {
	t.Parallel()
	body := []byte(`{"webhookId":"wh-1"}`)
	hmacV := auth.SendstackHMAC("X-Sig", "secret", webhookID)
	cases := map[string]struct {
		v       auth.Verifier
		hdr     map[string]string
		token   string
		variant string
		err     error
	}{
		"bearer ok":                {auth.Bearer("k"), map[string]string{"Authorization": "Bearer k"}, "", auth.VariantBearer, nil},
		"bearer scheme any case":   {auth.Bearer("k"), map[string]string{"Authorization": "bEaReR k"}, "", auth.VariantBearer, nil},
		"bearer wrong":             {auth.Bearer("k"), map[string]string{"Authorization": "Bearer x"}, "", "", auth.ErrMismatch},
		"bearer prefix of key":     {auth.Bearer("key"), map[string]string{"Authorization": "Bearer ke"}, "", "", auth.ErrMismatch},
		"bearer missing":           {auth.Bearer("k"), nil, "", "", auth.ErrMissingCredential},
		"bearer no secret":         {auth.Bearer(""), map[string]string{"Authorization": "Bearer "}, "", "", auth.ErrNotConfigured},
		"header ok":                {auth.HeaderPair("X-T", "v"), map[string]string{"x-t": "v"}, "", auth.VariantHeader, nil},
		"header wrong":             {auth.HeaderPair("X-T", "v"), map[string]string{"X-T": "w"}, "", "", auth.ErrMismatch},
		"header no secret":         {auth.HeaderPair("X-T", ""), map[string]string{"X-T": ""}, "", "", auth.ErrNotConfigured},
		"hmac webhookId":           {hmacV, map[string]string{"X-Sig": auth.Sign("secret", []byte("wh-1"))}, "", auth.VariantHMACWebhookID, nil},
		"hmac quoted webhookId":    {hmacV, map[string]string{"X-Sig": auth.Sign("secret", []byte(`"wh-1"`))}, "", auth.VariantHMACWebhookIDRaw, nil},
		"hmac body":                {hmacV, map[string]string{"X-Sig": auth.Sign("secret", body)}, "", auth.VariantHMACBody, nil},
		"hmac wrong secret":        {hmacV, map[string]string{"X-Sig": auth.Sign("other", body)}, "", "", auth.ErrMismatch},
		"hmac uppercase hex":       {hmacV, map[string]string{"X-Sig": "ABCDEF"}, "", "", auth.ErrMismatch},
		"hmac no secret":           {auth.SendstackHMAC("X-Sig", "", webhookID), map[string]string{"X-Sig": auth.Sign("", body)}, "", "", auth.ErrNotConfigured},
		"token ok":                 {auth.URLToken("t"), nil, "t", auth.VariantURLToken, nil},
		"token wrong":              {auth.URLToken("t"), nil, "u", "", auth.ErrMismatch},
		"token no secret":          {auth.URLToken(""), nil, "", "", auth.ErrNotConfigured},
		"all joins variants":       {auth.All(auth.Bearer("k"), auth.URLToken("t")), map[string]string{"Authorization": "Bearer k"}, "t", "bearer+url-token", nil},
		"all stops at first error": {auth.All(auth.Bearer("k"), auth.URLToken("t")), map[string]string{"Authorization": "Bearer k"}, "x", "", auth.ErrMismatch},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range c.hdr {
				h.Set(k, v)
			}
			got, err := c.v.Verify(&auth.Request{Header: h, Body: body, Token: c.token})
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.variant, got)
		})
	}
}

func TestAllowCIDRs(t *testing.T) {
	t.Parallel()
	v, err := auth.AllowCIDRs([]string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"})
	require.NoError(t, err)
	for ip, ok := range map[string]bool{"10.9.9.9:1": true, "[2001:db8::1]:5": true, "192.0.2.7:80": true, "192.0.2.8:80": false, "[::ffff:10.0.0.1]:1": true, "garbage": false} {
		_, err := v.Verify(&auth.Request{RemoteIP: auth.RemoteAddr(ip)})
		if ok {
			assert.NoError(t, err, ip)
		} else {
			assert.ErrorIs(t, err, auth.ErrSourceIP, ip)
		}
	}
	_, err = auth.AllowCIDRs([]string{"300.1.1.1/8"})
	assert.Error(t, err)
}
