package provider_test

import (
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/auth"
	"github.com/courierhook/pipeline/gateway/internal/provider"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/providers/seed"
)

// The gateway's table and the pipeline's provider list (schemas/providers)
// name the same providers: a name added to one and not the other fails here.
func TestTable_MatchesSchemasProviders(t *testing.T) {
	t.Parallel()
	assert.ElementsMatch(t, providers.Providers(), provider.Names())
	for _, spec := range provider.Table {
		assert.NotEmpty(t, spec.Methods, spec.Name)
		assert.NotNil(t, spec.Key, spec.Name)
		assert.NotNil(t, spec.Preset, spec.Name)
	}
}

func TestTable_EveryProviderHasFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range provider.Names() {
		assert.NotEmpty(t, seed.Of(name), "%s has no seed payloads in schemas/providers/seed", name)
	}
}

func req(hdr map[string]string, token, ip string) *auth.Request {
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	a, _ := netip.ParseAddr(ip)
	return &auth.Request{Header: h, Token: token, RemoteIP: a}
}

// verify runs a provider's checks as the handler does: Head, then Body.
func verify(p *provider.Provider, r *auth.Request, body []byte) (auth.Match, error) {
	m, err := p.Head.Verify(r)
	if err != nil || p.Body == nil {
		return m, err
	}
	r.Body = body
	bm, err := p.Body.Verify(r)
	return auth.Join(bm, m), err
}

func TestBuild_FailsClosedAndComposes(t *testing.T) {
	t.Parallel()
	ps, err := provider.Build(map[string]provider.Secrets{
		"kiriminaja": {APIKey: provider.SecretList{"k"}, AllowCIDRs: []string{"10.0.0.0/8"}},
		"dash":       {Token: provider.SecretList{"t"}}, // no header pair: token alone
		"komerce":    {},                                // nothing configured: refuses everything
		"sendstack":  {Auth: "none"},
	}, nil)
	require.NoError(t, err)
	assert.True(t, ps["sendstack"].Open)
	assert.True(t, ps["komerce"].Closed)
	assert.False(t, ps["dash"].Open || ps["dash"].Closed)

	v, err := verify(ps["kiriminaja"], req(map[string]string{"Authorization": "Bearer k"}, "", "10.1.2.3"), nil)
	require.NoError(t, err)
	assert.Equal(t, auth.VariantBearer, v.Variant)
	_, err = verify(ps["kiriminaja"], req(map[string]string{"Authorization": "Bearer k"}, "", "192.0.2.1"), nil)
	assert.ErrorIs(t, err, auth.ErrSourceIP)

	v, err = verify(ps["dash"], req(nil, "t", "127.0.0.1"), nil)
	require.NoError(t, err)
	assert.Equal(t, auth.VariantURLToken, v.Variant)

	_, err = verify(ps["komerce"], req(nil, "", "127.0.0.1"), nil)
	assert.ErrorIs(t, err, auth.ErrNotConfigured)
	_, err = verify(ps["komerce"], req(nil, "anything", "127.0.0.1"), nil)
	assert.ErrorIs(t, err, auth.ErrNotConfigured)

	v, err = verify(ps["sendstack"], req(nil, "", "127.0.0.1"), nil)
	require.NoError(t, err)
	assert.Equal(t, auth.VariantNone, v.Variant)
}

// Checks that need no body run before it is read (Head); only the HMAC runs
// after (Body), and the variants keep their order (preset first).
func TestBuild_HeadBeforeBody(t *testing.T) {
	t.Parallel()
	ps, err := provider.Build(map[string]provider.Secrets{
		"sendstack":  {AppSecret: provider.SecretList{"s"}, Token: provider.SecretList{"t"}},
		"kiriminaja": {APIKey: provider.SecretList{"k"}},
	}, nil)
	require.NoError(t, err)
	assert.Nil(t, ps["kiriminaja"].Body, "bearer needs no body")
	require.NotNil(t, ps["sendstack"].Body)
	body := []byte(`{"webhookId":"w"}`)
	m, err := verify(ps["sendstack"], req(map[string]string{provider.SignatureHeaderSendstack: auth.Sign("s", body)}, "t", "127.0.0.1"), body)
	require.NoError(t, err)
	assert.Equal(t, "hmac-body+url-token", m.Variant)
	_, err = ps["sendstack"].Head.Verify(req(nil, "wrong", "127.0.0.1"))
	assert.ErrorIs(t, err, auth.ErrMismatch, "a wrong URL token is refused before the body is read")
}

// Finding (issue 13, medium): the Sendstack variant is a per-provider setting,
// body by default; the weak ones are opt-in and reported for the start-up warning.
func TestBuild_SendstackSignatureSetting(t *testing.T) {
	t.Parallel()
	body := []byte(`{"webhookId":"wh-9"}`)
	idSig := map[string]string{provider.SignatureHeaderSendstack: auth.Sign("s", []byte(`"wh-9"`))}

	def, err := provider.Build(map[string]provider.Secrets{"sendstack": {AppSecret: provider.SecretList{"s"}}}, nil)
	require.NoError(t, err)
	assert.False(t, def["sendstack"].WeakSignature)
	_, err = verify(def["sendstack"], req(idSig, "", "127.0.0.1"), body)
	assert.ErrorIs(t, err, auth.ErrMismatch, "default: a signature over the webhookId is refused")

	weak, err := provider.Build(map[string]provider.Secrets{"sendstack": {AppSecret: provider.SecretList{"s"}, Signature: []string{"webhookid-json"}}}, nil)
	require.NoError(t, err)
	assert.True(t, weak["sendstack"].WeakSignature)
	m, err := verify(weak["sendstack"], req(idSig, "", "127.0.0.1"), body)
	require.NoError(t, err)
	assert.Equal(t, auth.VariantHMACWebhookIDRaw, m.Variant)
	_, err = verify(weak["sendstack"], req(idSig, "", "127.0.0.1"), []byte(`{"webhookId":"wh-9","forged":1}`))
	assert.ErrorIs(t, err, auth.ErrReplay)

	_, err = provider.Build(map[string]provider.Secrets{"sendstack": {AppSecret: provider.SecretList{"s"}, Signature: []string{"md5"}}}, nil)
	assert.ErrorIs(t, err, auth.ErrConfig)
}

// Finding (issue 13, low): GATEWAY_<P>_AUTH=" none" opened the provider while
// the start-up log said it refused everything. Build reads the mode once,
// trimmed and case-insensitively, and its result is what the log shows.
func TestBuild_AuthModeNormalisedOnce(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{" none", "NONE ", "\tNone"} {
		ps, err := provider.Build(map[string]provider.Secrets{"komerce": {Auth: mode}}, nil)
		require.NoError(t, err, "%q", mode)
		p := ps["komerce"]
		assert.True(t, p.Open, "%q", mode)
		assert.False(t, p.Closed, "%q is reported as open, and it is", mode)
		_, err = p.Head.Verify(req(nil, "", "127.0.0.1"))
		assert.NoError(t, err, "%q", mode)
	}
	ps, err := provider.Build(map[string]provider.Secrets{"komerce": {Auth: "  "}}, nil)
	require.NoError(t, err)
	assert.True(t, ps["komerce"].Closed)
	_, err = ps["komerce"].Head.Verify(req(nil, "", "127.0.0.1"))
	assert.ErrorIs(t, err, auth.ErrNotConfigured)
}

func TestBuild_RejectsBadConfig(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]map[string]provider.Secrets{
		"unknown provider": {"fedex": {APIKey: provider.SecretList{"x"}}},
		"bad cidr":         {"dash": {Token: provider.SecretList{"t"}, AllowCIDRs: []string{"not-a-cidr"}}},
		"bad auth mode":    {"dash": {Auth: "open"}},
	} {
		_, err := provider.Build(s, nil)
		assert.Error(t, err, name)
	}
}

func TestLoadFile_EnvOverridesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "providers.yaml")
	require.NoError(t, os.WriteFile(path, []byte("dash:\n  auth_header: X-A\n  auth_value: file\nkomerce:\n  token: [ft-new, ft-old]\n  allow_cidrs: [127.0.0.1/32]\nsendstack:\n  app_secret: a, b\n  signature: [webhookid-json]\n"), 0o600))
	file, err := provider.LoadFile(path)
	require.NoError(t, err)
	got := provider.Merge(file, map[string]provider.Secrets{"dash": {AuthValue: provider.SecretList{"env"}}, "komerce": {}})
	assert.Equal(t, "X-A", got["dash"].AuthHeader)
	assert.Equal(t, provider.SecretList{"env"}, got["dash"].AuthValue)
	assert.Equal(t, provider.SecretList{"ft-new", "ft-old"}, got["komerce"].Token)
	assert.Equal(t, []string{"127.0.0.1/32"}, got["komerce"].AllowCIDRs)
	assert.Equal(t, provider.SecretList{"a", "b"}, got["sendstack"].AppSecret)
	assert.Equal(t, []string{"webhookid-json"}, got["sendstack"].Signature)

	empty := filepath.Join(t.TempDir(), "empty.yaml")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	m, err := provider.LoadFile(empty)
	require.NoError(t, err)
	assert.Empty(t, m)
}

// Finding (issue 13, low): unknown keys in the providers file were ignored, so
// a misspelt secret or allowlist silently did nothing.
func TestLoadFile_RejectsUnknownKeys(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"misspelt secret":    "sendstack:\n  app_secert: s\n",
		"misspelt allowlist": "komerce:\n  token: t\n  allow_cidr: [10.0.0.0/8]\n",
	} {
		path := filepath.Join(t.TempDir(), "providers.yaml")
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
		_, err := provider.LoadFile(path)
		assert.Error(t, err, name)
	}
}

// Rotation from the environment: a comma-separated list, trimmed; the
// configuration log shows neither secret.
func TestSecrets_FromEnvironment(t *testing.T) {
	t.Parallel()
	all, err := provider.SecretsFromEnv(map[string]string{"GATEWAY_DASH_AUTH_VALUE": "new-secret, old-secret", "GATEWAY_DASH_AUTH": " none"})
	require.NoError(t, err)
	c := all["dash"]
	assert.Equal(t, provider.SecretList{"new-secret", "old-secret"}, c.AuthValue)
	assert.Equal(t, " none", c.Auth)
	for k, v := range config.Masked(c) {
		assert.NotContains(t, v, "secret", k)
	}
}

// Every row of the table reads its own GATEWAY_<NAME>_* variables, with no
// config code per provider: a row added to Table is configurable at once.
func TestSecretsFromEnv_EveryTableRow(t *testing.T) {
	t.Parallel()
	environ := map[string]string{}
	for _, name := range provider.Names() {
		environ[provider.EnvPrefix(name)+"TOKEN"] = "token-of-" + name
		environ[provider.EnvPrefix(name)+"ALLOW_CIDRS"] = "192.0.2.0/24"
	}
	all, err := provider.SecretsFromEnv(environ)
	require.NoError(t, err)
	require.Len(t, all, len(provider.Table))
	for _, name := range provider.Names() {
		assert.Equal(t, provider.SecretList{"token-of-" + name}, all[name].Token, name)
		assert.Equal(t, []string{"192.0.2.0/24"}, all[name].AllowCIDRs, name)
	}
	assert.Equal(t, "GATEWAY_KIRIMINAJA_", provider.EnvPrefix("kiriminaja"))
}

// Env is SecretsFromEnv's inverse for every field of Secrets, so the demo
// credentials reach the gateway as they are: a field added to Secrets must be
// set in full below, and Env renders it (or panics on a type it cannot render).
func TestEnv_RoundTrip(t *testing.T) {
	t.Parallel()
	full := provider.Secrets{Auth: "none", APIKey: provider.SecretList{"new-key", "old-key"}, AuthHeader: "X-Test",
		AuthValue: provider.SecretList{"value"}, AppSecret: provider.SecretList{"app"}, Signature: []string{"body", "webhookid"},
		Token: provider.SecretList{"token"}, AllowCIDRs: []string{"192.0.2.0/24", "198.51.100.0/24"}}
	fields := reflect.ValueOf(full)
	for i := range fields.NumField() {
		require.False(t, fields.Field(i).IsZero(), "set Secrets.%s in this test", fields.Type().Field(i).Name)
	}
	in := map[string]provider.Secrets{}
	for _, name := range provider.Names() {
		in[name] = full
	}
	environ := map[string]string{}
	for _, kv := range provider.Env(in) {
		k, v, ok := strings.Cut(kv, "=")
		require.True(t, ok, kv)
		assert.NotContains(t, environ, k, "rendered twice")
		environ[k] = v
	}
	assert.Len(t, environ, len(provider.Table)*fields.NumField())
	got, err := provider.SecretsFromEnv(environ)
	require.NoError(t, err)
	assert.Equal(t, in, got)

	assert.Empty(t, provider.Env(map[string]provider.Secrets{"nobody": full}), "a name not in the table is not rendered")
}

// Every row has demo secrets that configure its own checks: with them no
// provider fails closed (or is open), so the demo works for a new row at once.
func TestDemo_EveryRowConfigured(t *testing.T) {
	t.Parallel()
	demo := provider.Demo()
	require.Len(t, demo, len(provider.Table))
	built, err := provider.Build(demo, nil)
	require.NoError(t, err)
	for _, name := range provider.Names() {
		assert.False(t, built[name].Closed, "%s: its demo secrets leave it failing closed", name)
		assert.False(t, built[name].Open, "%s: open without a credential", name)
	}
}
