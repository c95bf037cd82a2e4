package adapter_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas/shipment/shipmenttest"
)

// rekey returns v with every object key passed through f.
func rekey(v any, f func(string) string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[f(k)] = rekey(x, f)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = rekey(x, f)
		}
		return out
	}
	return v
}

// semanticVariants are bodies where encoding/json's own rules decide the
// result, not the JSON's shape: keys in other cases (matched case-insensitively),
// a duplicated member (the last one wins), invalid UTF-8 in a string (replaced),
// a number with an exponent or a fraction where an integer may go.
func semanticVariants(body []byte) [][]byte {
	doc, ok := decodeDoc(body)
	if !ok {
		return nil
	}
	var out [][]byte
	for _, f := range []func(string) string{strings.ToUpper, strings.ToLower, func(k string) string {
		if k == "" {
			return k
		}
		return strings.ToUpper(k[:1]) + k[1:]
	}} {
		b, err := json.Marshal(rekey(doc, f))
		if err == nil {
			out = append(out, b)
		}
	}
	if m, ok := doc.(map[string]any); ok {
		for k := range m { // {"k":"an earlier duplicate", <the body's members>}
			first, _ := json.Marshal(map[string]any{k: "an earlier duplicate"})
			dup := append(bytes.TrimSuffix(first, []byte("}")), ',')
			out = append(out, append(dup, body[bytes.IndexByte(body, '{')+1:]...))
		}
	}
	if i := bytes.Index(body, []byte(`":"`)); i >= 0 {
		out = append(out, append(append(append([]byte(nil), body[:i+3]...), 0xff, 0xfe), body[i+3:]...))
	}
	for _, num := range [][]byte{[]byte(`1e2`), []byte(`1.0`), []byte(`-0`), []byte(`99999999999999999999`)} {
		for _, k := range []string{`":1`, `":0`, `":2`} {
			if i := bytes.Index(body, []byte(k)); i >= 0 {
				out = append(out, append(append(append([]byte(nil), body[:i+2]...), num...), body[i+3:]...))
			}
		}
	}
	return out
}

// requireSameNormalize fails unless Normalize gives the same outputs and error
// with decodeLenient's fast first try as with encoding/json alone.
func requireSameNormalize(t *testing.T, provider string, body []byte) {
	t.Helper()
	rec := fixtureRecord(provider, "fast", body)
	outs, err := adapter.Normalize(rec)
	var refOuts []adapter.Output
	var refErr error
	adapter.WithoutFastDecode(func() { refOuts, refErr = adapter.Normalize(rec) })
	if refErr != nil {
		require.Error(t, err, "%s %q", provider, body)
		require.Equal(t, refErr.Error(), err.Error(), "%s %q", provider, body)
		return
	}
	require.NoError(t, err, "%s %q", provider, body)
	require.Equal(t, refOuts, outs, "%s %q", provider, body)
}

// TestDecodeLenient_sameAsEncodingJSON: over every fixture of every provider,
// each field replaced by every value of the type-mutation test, and each body
// damaged byte-wise, the adapters give the same outputs and errors with the fast
// first decode as with encoding/json alone.
func TestDecodeLenient_sameAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	n := 0
	for _, provider := range mutationProviders {
		for _, fx := range fixtures(t, provider) {
			requireSameNormalize(t, provider, fx.Body)
			n++
			if doc, ok := decodeDoc(fx.Body); ok {
				for _, p := range docPaths(doc, nil, nil) {
					for _, val := range mutationValues {
						requireSameNormalize(t, provider, mutate(fx.Body, p, val))
						n++
					}
				}
			}
			for range 30 {
				requireSameNormalize(t, provider, shipmenttest.Damage(r, fx.Body))
				n++
			}
			for _, b := range semanticVariants(fx.Body) {
				requireSameNormalize(t, provider, b)
				n++
			}
		}
	}
	t.Logf("%d bodies", n)
	require.Greater(t, n, 10000)
}
