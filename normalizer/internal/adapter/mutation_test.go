package adapter_test

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
)

// mutationValues are the JSON values every field is replaced by.
var mutationValues = []string{`null`, `true`, `0`, `""`, `"x"`, `[]`, `{}`, `[1]`, `{"a":1}`}

// scalarMutations are the indexes of mutationValues that still name an id or
// a status when they replace one (true, 0, "x").
var scalarMutations = map[int]bool{1: true, 2: true, 4: true}

// mutationProviders are the providers in fuzz-index order.
var mutationProviders = []string{"kiriminaja", "dash", "komerce", "sendstack"}

// identityPaths are, per provider, the fields that carry a body's shipment
// identity or status (and their containers): replacing one may remove the
// identity or the status, so such a body may dead-letter. Paths use "[]" for
// array elements, "" for a top-level array's elements.
var identityPaths = map[string]map[string]bool{
	"kiriminaja": set("method", "data", "data[]", "data[].order_id", "data[].awb", "data.order_id", "data.awb", "data.status",
		"packages", "packages[]", "packages[].order_id", "packages[].awb"),
	"dash":      set("deliveryID", "status"),
	"komerce":   set("order_no", "cnote", "status", "awb", "status_pengiriman", "[]", "[].order_no", "[].cnote", "[].status"),
	"sendstack": set("drops", "drops[]", "drops[].id", "drops[].trackingId", "drops[].status", "dropId", "dropIds", "dropIds[]", "trackingId", "eventType", "status"),
}

// containerPaths are identity paths that hold other fields, not an id or status.
var containerPaths = set("data", "data[]", "packages", "packages[]", "drops", "drops[]", "dropIds", "[]")

// set builds a path set; keys are lower case, since JSON keys match fields
// case-insensitively ("pACkAges" is packages).
func set(vals ...string) map[string]bool {
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[strings.ToLower(v)] = true
	}
	return m
}

// jsonPath is a location in a decoded JSON document: string keys and int indexes.
type jsonPath []any

// name renders p as an identityPaths key ("data[].order_id"), in lower case.
func (p jsonPath) name() string {
	var b strings.Builder
	for _, s := range p {
		switch s := s.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(strings.ToLower(s))
		case int:
			b.WriteString("[]")
		}
	}
	return b.String()
}

// decodeDoc decodes a JSON document keeping numbers as json.Number.
func decodeDoc(body []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// docPaths lists every member and element path of v, depth first, with
// object keys sorted so the order is stable.
func docPaths(v any, prefix jsonPath, out []jsonPath) []jsonPath {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := append(append(jsonPath(nil), prefix...), k)
			out = append(out, p)
			out = docPaths(v[k], p, out)
		}
	case []any:
		for i, e := range v {
			p := append(append(jsonPath(nil), prefix...), i)
			out = append(out, p)
			out = docPaths(e, p, out)
		}
	}
	return out
}

// mutate returns body with the value at p replaced by raw JSON val.
func mutate(body []byte, p jsonPath, val string) []byte {
	doc, _ := decodeDoc(body)
	var repl any = json.RawMessage(val)
	if len(p) == 0 {
		return []byte(val)
	}
	cur := doc
	for i, s := range p {
		last := i == len(p)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[s.(string)] = repl
			} else {
				cur = c[s.(string)]
			}
		case []any:
			if last {
				c[s.(int)] = repl
			} else {
				cur = c[s.(int)]
			}
		}
	}
	b, _ := json.Marshal(doc)
	return b
}

// mutationResult is what one mutated body did.
type mutationResult struct {
	asserted bool // the body still had its identity and status, so must yield
	lost     int  // events the baseline had and the mutation lost
}

// checkMutation runs the baseline and the body with p replaced by
// mutationValues[k], checks the contract, and, when the replaced field is not
// an identity or status field (or replaced one by a scalar), that the mutated
// body yields the baseline's events: same count, same shipment ids, no Dead.
func checkMutation(t testing.TB, provider string, body []byte, p jsonPath, k int) mutationResult {
	t.Helper()
	base, err := adapter.Normalize(fixtureRecord(provider, "mut", body))
	if err != nil || len(live(base)) != len(base) {
		return mutationResult{} // a poison or partly dead baseline owes nothing
	}
	mutated := mutate(body, p, mutationValues[k])
	outs, err := adapter.Normalize(fixtureRecord(provider, "mut", mutated))
	checkContract(t, outs, err)
	name := p.name()
	essential := identityPaths[provider][name]
	if essential && (containerPaths[name] || !scalarMutations[k]) {
		return mutationResult{}
	}
	res := mutationResult{asserted: true}
	got := map[string]int{}
	if err == nil {
		for _, o := range live(outs) {
			got[shipmentKey(o, essential)]++
		}
	}
	for _, o := range base {
		if k := shipmentKey(o, essential); got[k] > 0 {
			got[k]--
			continue
		}
		res.lost++
		t.Errorf("%s %s=%s lost the event of %s (err %v)\nbody: %s", provider, name, mutationValues[k], o.Event.Data.ShipmentID, err, mutated)
	}
	return res
}

// shipmentKey is what an event is matched on: its shipment id, or nothing
// when the mutation replaced an id (the event then has a new id).
func shipmentKey(o adapter.Output, idReplaced bool) string {
	if idReplaced {
		return ""
	}
	return o.Event.Data.ShipmentID
}

// TestTypeMutation_NoLostEvents replaces every field of every fixture, at every
// depth, by each JSON type and counts: bodies run, bodies that still had
// identity and status, and events those lost (must be 0).
func TestTypeMutation_NoLostEvents(t *testing.T) {
	var bodies, asserted, lost int
	for _, provider := range mutationProviders {
		for _, fx := range fixtures(t, provider) {
			doc, ok := decodeDoc(fx.Body)
			if !ok {
				continue
			}
			for _, p := range docPaths(doc, nil, nil) {
				for k := range mutationValues {
					r := checkMutation(t, provider, fx.Body, p, k)
					bodies++
					if r.asserted {
						asserted++
					}
					lost += r.lost
				}
			}
		}
	}
	t.Logf("type mutation: %d mutated bodies, %d still with identity and status, %d lost events", bodies, asserted, lost)
	if bodies < 5000 || asserted < bodies/2 {
		t.Fatalf("too few mutations checked: %d bodies, %d asserted", bodies, asserted)
	}
	if lost != 0 {
		t.Fatalf("%d events lost", lost)
	}
}

// FuzzTypeMutation fuzzes the type mutation: the fuzzer picks a provider, a
// body (seeded with every fixture, then mutated freely), a field and a JSON
// type; the property is checkMutation's.
func FuzzTypeMutation(f *testing.F) {
	for pi, provider := range mutationProviders {
		for i, fx := range fixtures(f, provider) {
			f.Add(uint8(pi), fx.Body, uint16(i*7), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, pi uint8, body []byte, field uint16, kind uint8) {
		provider := mutationProviders[int(pi)%len(mutationProviders)]
		doc, ok := decodeDoc(body)
		if !ok {
			return
		}
		paths := docPaths(doc, nil, nil)
		if len(paths) == 0 {
			return
		}
		checkMutation(t, provider, body, paths[int(field)%len(paths)], int(kind)%len(mutationValues))
	})
}
