package provider_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/courierhook/pipeline/gateway/internal/provider"
)

func TestKeyFuncs(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		fn   provider.KeyFunc
		body string
		want string
	}{
		"kiriminaja data array":         {provider.KiriminAjaKey, `{"method":"x","data":[{"order_id":"A"},{"order_id":"B"}]}`, "A"},
		"kiriminaja data object":        {provider.KiriminAjaKey, `{"method":"x","data":{"order_id":"OBJ"}}`, "OBJ"},
		"kiriminaja numeric order id":   {provider.KiriminAjaKey, `{"data":[{"order_id":12345}]}`, "12345"},
		"kiriminaja first row has none": {provider.KiriminAjaKey, `{"data":[{"awb":"x"},{"order_id":"B"}]}`, "B"},
		"kiriminaja falls to packages":  {provider.KiriminAjaKey, `{"data":[],"packages":[{"order_id":"P"}]}`, "P"},
		"kiriminaja nothing":            {provider.KiriminAjaKey, `{"data":null}`, ""},
		"kiriminaja data is a string":   {provider.KiriminAjaKey, `{"data":"oops"}`, ""},
		"dash deliveryID":               {provider.DashKey, `{"deliveryID":"DE-1","providerOrderID":"AWB"}`, "DE-1"},
		"dash falls to providerOrderID": {provider.DashKey, `{"providerOrderID":"AWB"}`, "AWB"},
		"dash object id":                {provider.DashKey, `{"deliveryID":{"x":1}}`, ""},
		"komerce object":                {provider.KomerceKey, `{"order_no":"K1","cnote":"c"}`, "K1"},
		"komerce array":                 {provider.KomerceKey, `[{"order_no":"K2"}]`, "K2"},
		"komerce top-level string":      {provider.KomerceKey, `"K3"`, ""},
		"sendstack batchId":             {provider.SendstackKey, `{"batchId":"B1","drops":[{"batchId":"B2"}]}`, "B1"},
		"sendstack drops batchId":       {provider.SendstackKey, `{"drops":[{"batchId":"B2"}]}`, "B2"},
		"too long falls back":           {provider.DashKey, `{"deliveryID":"` + strings.Repeat("x", provider.MaxKeyLen+1) + `"}`, ""},
		"escaped string is decoded":     {provider.DashKey, `{"deliveryID":"DE\u002d9"}`, "DE-9"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, c.want, c.fn([]byte(c.body)))
		})
	}
}

// FuzzKeys: no key function panics on any input, and keys are bounded UTF-8.
func FuzzKeys(f *testing.F) {
	for _, s := range []string{
		`{"method":"x","data":[{"order_id":"A"}]}`, `{"data":{"order_id":1}}`, `{"deliveryID":"DE-1"}`,
		`[{"order_no":"K"}]`, `{"batchId":"B","drops":[{"batchId":"C"}]}`, `{"data":[[[[`, `"x"`, `null`, ``,
		`{"webhookId":"66faa977606e413be093c02f"}`,
	} {
		f.Add([]byte(s))
	}
	fns := []provider.KeyFunc{provider.KiriminAjaKey, provider.DashKey, provider.KomerceKey, provider.SendstackKey}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, fn := range fns {
			k := fn(body)
			if len(k) > provider.MaxKeyLen || !utf8.ValidString(k) {
				t.Fatalf("bad key %q", k)
			}
		}
		_, _ = provider.SendstackWebhookID(body)
	})
}
