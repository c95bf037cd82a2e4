package provider_test

import (
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/auth"
	"github.com/courierhook/pipeline/gateway/internal/provider"
)

func TestTable_EveryProviderHasFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range provider.Names() {
		files, err := filepath.Glob(filepath.Join("testdata", name, "*.json"))
		require.NoError(t, err)
		assert.NotEmpty(t, files, name)
	}
}

func req(hdr map[string]string, token, ip string) *auth.Request {
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	a, _ := netip.ParseAddr(ip)
	return &auth.Request{Header: h, Body: []byte(`{}`), Token: token, RemoteIP: a}
}

func TestBuild_FailsClosedAndComposes(t *testing.T) {
	t.Parallel()
	ps, open, err := provider.Build(map[string]provider.Secrets{
		"kiriminaja": {APIKey: "k", AllowCIDRs: []string{"10.0.0.0/8"}},
		"dash":       {Token: "t"}, // no header pair: token alone
		"komerce":    {},           // nothing configured: refuses everything
		"sendstack":  {Auth: "none"},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"sendstack"}, open)

	v, err := ps["kiriminaja"].Auth.Verify(req(map[string]string{"Authorization": "Bearer k"}, "", "10.1.2.3"))
	require.NoError(t, err)
	assert.Equal(t, auth.VariantBearer, v)
	_, err = ps["kiriminaja"].Auth.Verify(req(map[string]string{"Authorization": "Bearer k"}, "", "192.0.2.1"))
	assert.ErrorIs(t, err, auth.ErrSourceIP)

	v, err = ps["dash"].Auth.Verify(req(nil, "t", "127.0.0.1"))
	require.NoError(t, err)
	assert.Equal(t, auth.VariantURLToken, v)

	_, err = ps["komerce"].Auth.Verify(req(nil, "", "127.0.0.1"))
	assert.ErrorIs(t, err, auth.ErrNotConfigured)
	_, err = ps["komerce"].Auth.Verify(req(nil, "anything", "127.0.0.1"))
	assert.ErrorIs(t, err, auth.ErrNotConfigured)

	v, err = ps["sendstack"].Auth.Verify(req(nil, "", "127.0.0.1"))
	require.NoError(t, err)
	assert.Equal(t, auth.VariantNone, v)
}

func TestBuild_RejectsBadConfig(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]map[string]provider.Secrets{
		"unknown provider": {"fedex": {APIKey: "x"}},
		"bad cidr":         {"dash": {Token: "t", AllowCIDRs: []string{"not-a-cidr"}}},
		"bad auth mode":    {"dash": {Auth: "open"}},
	} {
		_, _, err := provider.Build(s)
		assert.Error(t, err, name)
	}
}

func TestLoadFile_EnvOverridesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "providers.yaml")
	require.NoError(t, os.WriteFile(path, []byte("dash:\n  auth_header: X-A\n  auth_value: file\nkomerce:\n  token: ft\n  allow_cidrs: [127.0.0.1/32]\n"), 0o600))
	file, err := provider.LoadFile(path)
	require.NoError(t, err)
	got := provider.Merge(file, map[string]provider.Secrets{"dash": {AuthValue: "env"}, "komerce": {}})
	assert.Equal(t, "X-A", got["dash"].AuthHeader)
	assert.Equal(t, "env", got["dash"].AuthValue)
	assert.Equal(t, "ft", got["komerce"].Token)
	assert.Equal(t, []string{"127.0.0.1/32"}, got["komerce"].AllowCIDRs)
}
