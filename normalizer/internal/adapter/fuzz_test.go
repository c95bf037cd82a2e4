package adapter_test

import (
	"encoding/json"
	"testing"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// knownReasons are the dead-letter reasons an adapter may return.
var knownReasons = map[string]bool{
	adapter.ReasonInvalidJSON: true, adapter.ReasonUnsupportedShape: true, adapter.ReasonMissingShipmentID: true,
	adapter.ReasonNoShipment: true, adapter.ReasonInvalidValue: true, adapter.ReasonShipmentIDTooLong: true,
}

// checkContract fails t unless outs/err keep the Adapter contract: outputs xor
// an *Error with a known reason; at least one output; every Dead output has a
// known reason and no event; every other output is a schema-valid event.
func checkContract(t testing.TB, outs []adapter.Output, err error) {
	t.Helper()
	if err != nil {
		if len(outs) != 0 {
			t.Fatalf("outputs and error together: %v", err)
		}
		if !knownReasons[adapter.ReasonOf(err)] {
			t.Fatalf("unexpected reason %q: %v", adapter.ReasonOf(err), err)
		}
		return
	}
	if len(outs) == 0 {
		t.Fatal("no outputs and no error")
	}
	for _, o := range outs {
		if o.Dead != nil {
			if !knownReasons[o.Dead.Reason] || o.Event.ID != "" {
				t.Fatalf("bad Dead output: %+v", o)
			}
			continue
		}
		b, err := json.Marshal(o.Event)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if err := shipment.Validate(b); err != nil {
			t.Fatalf("invalid event %s: %v", b, err)
		}
	}
}

// fuzzAdapter seeds the corpus with the provider's fixtures and checks the
// Adapter contract on any input: no panic, outputs xor an *Error with a known
// reason, and every output a schema-valid event; and that decoding by
// encoding/json alone gives the same result (requireSameNormalize).
func fuzzAdapter(f *testing.F, provider string) {
	for _, fx := range fixtures(f, provider) {
		f.Add(fx.Body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		outs, err := adapter.Normalize(fixtureRecord(provider, "fuzz", body))
		checkContract(t, outs, err)
		requireSameNormalize(t, provider, body)
	})
}

func FuzzKiriminaja(f *testing.F) { fuzzAdapter(f, "kiriminaja") }
func FuzzDash(f *testing.F)       { fuzzAdapter(f, "dash") }
func FuzzKomerce(f *testing.F)    { fuzzAdapter(f, "komerce") }
func FuzzSendstack(f *testing.F)  { fuzzAdapter(f, "sendstack") }
