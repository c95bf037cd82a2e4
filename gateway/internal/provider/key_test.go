package provider_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/provider"
	"github.com/courierhook/pipeline/schemas/providers/seed"
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
		// Finding (issue 13, low): the key must be the id the normalizer makes
		// the event's subject: each run of invalid UTF-8 one U+FFFD, trimmed
		// (encoding/json made one U+FFFD per byte, and kept the spaces).
		"invalid utf-8 run is one U+FFFD": {provider.DashKey, "{\"deliveryID\":\"A\xff\xfeB\"}", "A\uFFFDB"},
		"id is trimmed":                   {provider.DashKey, `{"deliveryID":"  DE-7 "}`, "DE-7"},
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

// The reference: what the key functions did with encoding/json before they
// scanned. On valid JSON the scanning versions must agree with it.
func refScalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	switch raw[0] {
	case '"':
		// The normalizer's rule for ids (the event's subject): an unescaped
		// string keeps its bytes with each run of invalid UTF-8 made one
		// U+FFFD; an escaped one is what encoding/json decodes; both trimmed.
		if len(raw) >= 2 && !bytes.ContainsAny(raw[1:len(raw)-1], `\"`) {
			s = strings.ToValidUTF8(string(raw[1:len(raw)-1]), "\uFFFD")
		} else if err := json.Unmarshal(raw, &s); err != nil {
			return ""
		}
		s = strings.TrimSpace(s)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return ""
		}
		s = n.String()
	default:
		return ""
	}
	if len(s) > provider.MaxKeyLen || !utf8.ValidString(s) {
		return ""
	}
	return s
}

func refField(body []byte, name string) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return ""
	}
	return refScalar(obj[name])
}

func refFirstOf(raw json.RawMessage, name string) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '{':
		return refField(raw, name)
	case '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			return ""
		}
		for _, el := range arr {
			if k := refField(el, name); k != "" {
				return k
			}
		}
	}
	return ""
}

var refKeys = map[string]func([]byte) string{
	"kiriminaja": func(body []byte) string {
		var env struct {
			Data     json.RawMessage `json:"data"`
			Packages json.RawMessage `json:"packages"`
		}
		if json.Unmarshal(body, &env) != nil {
			return ""
		}
		if k := refFirstOf(env.Data, "order_id"); k != "" {
			return k
		}
		return refFirstOf(env.Packages, "order_id")
	},
	"dash": func(body []byte) string {
		var env struct {
			DeliveryID      json.RawMessage `json:"deliveryID"`
			ProviderOrderID json.RawMessage `json:"providerOrderID"`
		}
		if json.Unmarshal(body, &env) != nil {
			return ""
		}
		if k := refScalar(env.DeliveryID); k != "" {
			return k
		}
		return refScalar(env.ProviderOrderID)
	},
	"komerce": func(body []byte) string { return refFirstOf(body, "order_no") },
	"sendstack": func(body []byte) string {
		var env struct {
			BatchID json.RawMessage `json:"batchId"`
			Drops   json.RawMessage `json:"drops"`
		}
		if json.Unmarshal(body, &env) != nil {
			return ""
		}
		if k := refScalar(env.BatchID); k != "" {
			return k
		}
		return refFirstOf(env.Drops, "batchId")
	},
}

var keyFuncs = map[string]provider.KeyFunc{
	"kiriminaja": provider.KiriminAjaKey, "dash": provider.DashKey,
	"komerce": provider.KomerceKey, "sendstack": provider.SendstackKey,
}

var keyCorpus = []string{
	`{"method":"x","data":[{"order_id":"A"}]}`, `{"data":{"order_id":1}}`, `{"deliveryID":"DE-1"}`,
	`[{"order_no":"K"}]`, `{"batchId":"B","drops":[{"batchId":"C"}]}`, `"x"`, `null`, `[]`, `{}`,
	`{"DATA":[{"order_id":"up"}],"data":[{"order_id":"low"}]}`, `{"Deliveryid":"fold"}`,
	`{"deliveryID":"a","deliveryID":"last"}`, `{"order_no":"a","order_no":"b"}`, `{"order_No":"x"}`,
	`{"data":[null,1,"s",[{"order_id":"nested"}],{"order_id":"E"}]}`, `{"d\u0061ta":[{"order_\u0069d":"esc"}]}`,
	` { "data" : [ { "order_id" : -1.5e3 } ] } `, `{"deliveryID":"tab\there"}`, `{"deliveryID":"\ud83d\ude00"}`,
	`{"batchId":null,"drops":[{"batchId":"} ] {"},{"batchId":"x"}]}`, `{"deliveryID":true,"providerOrderID":"P"}`,
	"{\"deliveryID\":\"bad\xffutf8\"}", `{"ſata":[{"order_id":"longs"}]}`, `{"Kdeliveryid":"no"}`,
}

func TestKeyFuncsMatchEncodingJSON(t *testing.T) {
	t.Parallel()
	corpus := append([]string(nil), keyCorpus...)
	for _, p := range seed.All() {
		corpus = append(corpus, string(p.Body))
	}
	for _, body := range corpus {
		require.True(t, json.Valid([]byte(body)), body)
		for name, fn := range keyFuncs {
			assert.Equal(t, refKeys[name]([]byte(body)), fn([]byte(body)), "%s: %s", name, body)
		}
	}
}

// FuzzKeysMatchEncodingJSON: on any valid JSON the scanning key functions give
// what encoding/json gives.
func FuzzKeysMatchEncodingJSON(f *testing.F) {
	for _, s := range keyCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		for name, fn := range keyFuncs {
			if want, got := refKeys[name](body), fn(body); want != got {
				t.Fatalf("%s(%q) = %q, encoding/json gives %q", name, body, got, want)
			}
		}
	})
}

func BenchmarkKeyFuncs(b *testing.B) {
	var bodies [][]byte
	var fns []provider.KeyFunc
	for _, p := range seed.All() {
		bodies = append(bodies, p.Body)
		fns = append(fns, keyFuncs[p.Provider])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		fns[i%len(fns)](bodies[i%len(bodies)])
	}
}
