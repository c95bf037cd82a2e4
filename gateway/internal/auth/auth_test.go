package auth_test

import (
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/auth"
)

func webhookID(body []byte) (string, bool) { return "wh-1", true }

func hmacV(t *testing.T, messages ...string) auth.Verifier {
	t.Helper()
	v, err := auth.SendstackHMAC(auth.HMACOptions{Header: "X-Sig", Secrets: []string{"secret"}, Messages: messages,
		WebhookID: webhookID, Replay: auth.NewReplayGuard(0, 0)})
	require.NoError(t, err)
	return v
}

func TestVerifiers(t *testing.T) {
	t.Parallel()
	body := []byte(`{"webhookId":"wh-1"}`)
	weak := hmacV(t, auth.MessageWebhookID, auth.MessageWebhookIDJSON)
	noSecret, err := auth.SendstackHMAC(auth.HMACOptions{Header: "X-Sig"})
	require.NoError(t, err)
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
		"hmac webhookId (opt-in)":  {weak, map[string]string{"X-Sig": auth.Sign("secret", []byte("wh-1"))}, "", auth.VariantHMACWebhookID, nil},
		"hmac quoted id (opt-in)":  {weak, map[string]string{"X-Sig": auth.Sign("secret", []byte(`"wh-1"`))}, "", auth.VariantHMACWebhookIDRaw, nil},
		"hmac body under weak":     {weak, map[string]string{"X-Sig": auth.Sign("secret", body)}, "", auth.VariantHMACBody, nil},
		"hmac body default":        {hmacV(t), map[string]string{"X-Sig": auth.Sign("secret", body)}, "", auth.VariantHMACBody, nil},
		"hmac wrong secret":        {hmacV(t), map[string]string{"X-Sig": auth.Sign("other", body)}, "", "", auth.ErrMismatch},
		"hmac uppercase hex":       {hmacV(t), map[string]string{"X-Sig": "ABCDEF"}, "", "", auth.ErrMismatch},
		"hmac no secret":           {noSecret, map[string]string{"X-Sig": auth.Sign("", body)}, "", "", auth.ErrNotConfigured},
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
			assert.Equal(t, c.variant, got.Variant)
		})
	}
}

// Finding (issue 13, medium): a signature over the webhookId alone
// authenticated no body. By default only a signature over the body passes.
func TestSendstackHMAC_DefaultSignsTheBody(t *testing.T) {
	t.Parallel()
	v := hmacV(t)
	for name, msg := range map[string]string{"webhookId": "wh-1", "quoted webhookId": `"wh-1"`} {
		h := http.Header{"X-Sig": {auth.Sign("secret", []byte(msg))}}
		_, err := v.Verify(&auth.Request{Header: h, Body: []byte(`{"webhookId":"wh-1","forged":true}`)})
		assert.ErrorIs(t, err, auth.ErrMismatch, name)
	}
	_, err := auth.ParseMessages([]string{"webhookID", " body", "nonsense"})
	assert.ErrorIs(t, err, auth.ErrConfig)
	got, err := auth.ParseMessages([]string{" WebhookId-JSON ", "body", "body"})
	require.NoError(t, err)
	assert.Equal(t, []string{auth.MessageWebhookIDJSON, auth.MessageBody}, got)
	assert.True(t, auth.Weak(got))
	_, err = auth.SendstackHMAC(auth.HMACOptions{Header: "X-Sig", Secrets: []string{"s"}, Messages: []string{auth.MessageWebhookID}})
	assert.ErrorIs(t, err, auth.ErrConfig, "a weak message without a replay guard is refused")
}

// With a weak variant opted in, a captured signature cannot carry a new body:
// the webhookId seen before with another body is refused; the same body (a
// provider retry) still passes.
func TestSendstackHMAC_WeakVariantRefusesNewBodyForSeenID(t *testing.T) {
	t.Parallel()
	v := hmacV(t, auth.MessageWebhookIDJSON)
	sig := http.Header{"X-Sig": {auth.Sign("secret", []byte(`"wh-1"`))}}
	first := []byte(`{"webhookId":"wh-1","status":"delivered"}`)
	m, err := v.Verify(&auth.Request{Header: sig, Body: first})
	require.NoError(t, err)
	assert.Equal(t, auth.VariantHMACWebhookIDRaw, m.Variant)
	_, err = v.Verify(&auth.Request{Header: sig, Body: first})
	assert.NoError(t, err, "a retry with the same body passes")
	_, err = v.Verify(&auth.Request{Header: sig, Body: []byte(`{"webhookId":"wh-1","status":"cancelled"}`)})
	assert.ErrorIs(t, err, auth.ErrReplay)
}

func TestReplayGuard_BoundedAndExpires(t *testing.T) {
	t.Parallel()
	g := auth.NewReplayGuard(3, time.Hour)
	now := time.Unix(1_700_000_000, 0)
	g.SetClock(func() time.Time { return now })
	for i := range 5 {
		require.NoError(t, g.Check("id-"+strconv.Itoa(i), []byte("a")))
	}
	assert.Equal(t, 3, g.Len(), "bounded")
	assert.NoError(t, g.Check("id-0", []byte("b")), "evicted ids are forgotten (the documented limit)")
	assert.ErrorIs(t, g.Check("id-4", []byte("b")), auth.ErrReplay)
	now = now.Add(time.Hour + time.Second)
	assert.NoError(t, g.Check("id-4", []byte("b")), "expired after the TTL")
	assert.ErrorIs(t, g.Check("id-4", []byte("a")), auth.ErrReplay, "the new body is now the remembered one")
}

// Rotation (issue 13 §3): every configured secret is accepted, and the index
// of the one that matched is reported (never the secret).
func TestRotation_EverySecretAcceptedAndIndexReported(t *testing.T) {
	t.Parallel()
	body := []byte(`{"webhookId":"wh-1"}`)
	hm, err := auth.SendstackHMAC(auth.HMACOptions{Header: "X-Sig", Secrets: []string{"new", "old"}})
	require.NoError(t, err)
	type try struct {
		hdr   map[string]string
		token string
	}
	cases := map[string]struct {
		v     auth.Verifier
		tries []try // tries[i] carries secret i
	}{
		"bearer": {auth.Bearer("new", "old"), []try{{hdr: map[string]string{"Authorization": "Bearer new"}}, {hdr: map[string]string{"Authorization": "Bearer old"}}}},
		"header": {auth.HeaderPair("X-T", "new", "old"), []try{{hdr: map[string]string{"X-T": "new"}}, {hdr: map[string]string{"X-T": "old"}}}},
		"token":  {auth.URLToken("new", "old"), []try{{token: "new"}, {token: "old"}}},
		"hmac":   {hm, []try{{hdr: map[string]string{"X-Sig": auth.Sign("new", body)}}, {hdr: map[string]string{"X-Sig": auth.Sign("old", body)}}}},
	}
	for name, c := range cases {
		for i, tr := range c.tries {
			h := http.Header{}
			for k, v := range tr.hdr {
				h.Set(k, v)
			}
			m, err := c.v.Verify(&auth.Request{Header: h, Body: body, Token: tr.token})
			require.NoError(t, err, "%s secret %d", name, i)
			assert.Equal(t, strconv.Itoa(i), m.Secret, name)
		}
	}
	m, err := auth.All(auth.Bearer("a", "b"), auth.URLToken("c", "d")).Verify(&auth.Request{Header: http.Header{"Authorization": {"Bearer b"}}, Token: "c"})
	require.NoError(t, err)
	assert.Equal(t, "1+0", m.Secret)
	_, err = auth.Bearer("", "k").Verify(&auth.Request{Header: http.Header{"Authorization": {"Bearer "}}})
	assert.Error(t, err, "an empty list entry never matches an empty credential")
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

// Finding (issue 13, low): allowlist entries written in IPv4-mapped IPv6 form
// never matched, because peers are compared unmapped.
func TestAllowCIDRs_MappedEntriesMatchIPv4Peers(t *testing.T) {
	t.Parallel()
	v, err := auth.AllowCIDRs([]string{"::ffff:203.0.113.0/120", "::ffff:192.0.2.7"})
	require.NoError(t, err)
	for peer, ok := range map[string]bool{"203.0.113.9:1": true, "[::ffff:203.0.113.9]:1": true, "192.0.2.7:1": true, "198.51.100.1:1": false} {
		_, err := v.Verify(&auth.Request{RemoteIP: auth.RemoteAddr(peer)})
		if ok {
			assert.NoError(t, err, peer)
		} else {
			assert.ErrorIs(t, err, auth.ErrSourceIP, peer)
		}
	}
	// The request's address as a zero-port netip.Addr from a mapped literal.
	_, err = v.Verify(&auth.Request{RemoteIP: netip.MustParseAddr("::ffff:203.0.113.1")})
	assert.NoError(t, err)
}

func TestTrustedProxies_ClientIP(t *testing.T) {
	t.Parallel()
	tp, err := auth.NewTrustedProxies([]string{"10.0.0.0/8", "::ffff:172.16.0.1"})
	require.NoError(t, err)
	a := netip.MustParseAddr
	cases := map[string]struct {
		peer string
		xff  []string
		want string
	}{
		"untrusted peer: header ignored":     {"198.51.100.7", []string{"203.0.113.1"}, "198.51.100.7"},
		"trusted peer, no header":            {"10.1.1.1", nil, "10.1.1.1"},
		"trusted peer: client from header":   {"10.1.1.1", []string{"203.0.113.1"}, "203.0.113.1"},
		"rightmost untrusted, spoof ignored": {"10.1.1.1", []string{"1.2.3.4, 203.0.113.1, 10.2.2.2"}, "203.0.113.1"},
		"several header lines":               {"10.1.1.1", []string{"1.2.3.4", "203.0.113.1"}, "203.0.113.1"},
		"mapped peer is trusted":             {"::ffff:10.1.1.1", []string{"203.0.113.1"}, "203.0.113.1"},
		"mapped proxy entry":                 {"172.16.0.1", []string{"203.0.113.1"}, "203.0.113.1"},
		"hop with port":                      {"10.1.1.1", []string{"[2001:db8::5]:4711"}, "2001:db8::5"},
		"all trusted: leftmost":              {"10.1.1.1", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		"garbage hop fails closed":           {"10.1.1.1", []string{"203.0.113.1, unknown"}, "invalid IP"},
		"no proxies configured: always peer": {"", nil, ""},
	}
	for name, c := range cases {
		if c.peer == "" {
			none, err := auth.NewTrustedProxies(nil)
			require.NoError(t, err)
			assert.Equal(t, a("10.1.1.1"), none.ClientIP(a("10.1.1.1"), []string{"203.0.113.1"}), name)
			continue
		}
		assert.Equal(t, c.want, tp.ClientIP(a(c.peer), c.xff).String(), name)
	}
}

// TestJSONString: the quoted-webhookId message is what JavaScript's
// JSON.stringify writes (expected values printed by node 18 for the same inputs),
// so an id with a quote or a backslash verifies instead of failing.
func TestJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"wh-1":         `"wh-1"`,
		"a\"b\\c":      `"a\"b\\c"`,
		"\b\f\n\r\t":   `"\b\f\n\r\t"`,
		"\u0001\u001f": `"\u0001\u001f"`,
		"<&>":          `"<&>"`,
		"é\u2028":      "\"é\u2028\"",
	} {
		assert.Equal(t, want, string(auth.JSONString(in)), "%q", in)
	}

	// A verifier signing an id that needs escaping accepts the sender's signature.
	id := `wh-"1"`
	v, err := auth.SendstackHMAC(auth.HMACOptions{Header: "X-Sig", Secrets: []string{"secret"},
		Messages:  []string{auth.MessageWebhookIDJSON},
		WebhookID: func([]byte) (string, bool) { return id, true }, Replay: auth.NewReplayGuard(0, 0)})
	require.NoError(t, err)
	h := http.Header{"X-Sig": {auth.Sign("secret", []byte(`"wh-\"1\""`))}} // JSON.stringify('wh-"1"')
	m, err := v.Verify(&auth.Request{Header: h, Body: []byte(`{"webhookId":"wh-\"1\""}`)})
	require.NoError(t, err)
	assert.Equal(t, auth.VariantHMACWebhookIDRaw, m.Variant)
}
