package consume

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas/providers/seed"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// assertEncodesLikeJSON checks that encodeEvent, with either value of
// data.advances spliced in, gives json.Marshal's bytes for that value, and that
// it fails exactly when json.Marshal does.
func assertEncodesLikeJSON(t *testing.T, ev shipment.Event) {
	t.Helper()
	for _, encAdv := range []bool{true, false} { // the value ev holds when encoded
		ev.Data.Advances = encAdv
		enc, err := encodeEvent(&ev)
		_, jerr := json.Marshal(&ev)
		if jerr != nil {
			require.Error(t, err, "encoding/json fails, so must encodeEvent")
			return
		}
		require.NoError(t, err)
		for _, adv := range []bool{true, false} {
			ev.Data.Advances = adv
			want, err := json.Marshal(&ev)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(enc.value(adv)))
		}
	}
}

func TestEncodeEvent_matchesEncodingJSON(t *testing.T) {
	// The seed payloads (schemas/providers/seed) and the adapter's own cases.
	paths, err := filepath.Glob(filepath.Join("..", "adapter", "testdata", "*", "*.json"))
	require.NoError(t, err)
	for _, s := range seed.All() {
		paths = append(paths, "seed:"+s.Provider+"/"+s.Name)
	}
	n := 0
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		var body []byte
		var provider string
		if c, ok := strings.CutPrefix(p, "seed:"); ok {
			provider, c, _ = strings.Cut(c, "/")
			body, err = seed.Read(provider, c)
		} else {
			provider = filepath.Base(filepath.Dir(p))
			body, err = os.ReadFile(p)
		}
		require.NoError(t, err)
		outs, err := adapter.Normalize(adapter.RawRecord{
			Provider: provider, Body: body, ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC),
			RequestID: "req", Topic: "raw", Partition: 2, Offset: 99,
		})
		if err != nil {
			continue
		}
		for _, o := range outs {
			t.Run(p, func(t *testing.T) { assertEncodesLikeJSON(t, o.Event) })
			n++
		}
	}
	require.Greater(t, n, 20, "fixtures found")
}

func TestEncodeEvent_edgeCases(t *testing.T) {
	lat, lon := -6.2000001, 1e21
	occurred := time.Date(2026, 5, 6, 7, 8, 9, 0, time.FixedZone("WIB", 7*3600))
	tricky := "<a href=\"x\">&amp;</a>\\ \b\f\n\r\t\x00\x1f\x7f é \u2028\u2029 \xff\xfe 😀 ,\"advances\":false"
	full := shipment.Event{
		SpecVersion: "1.0", ID: "id", Source: tricky, Type: "t", Subject: tricky, Time: occurred,
		Data: shipment.Data{
			SchemaVersion: 1, Provider: "dash", ProviderEvent: tricky, ShipmentID: tricky, OrderID: "o",
			MerchantOrderID: "m", TrackingNumber: "tn", Service: "svc", ServiceType: shipment.ServiceExpress,
			Status: shipment.StatusDelivered, SubStatus: "s", ProviderStatus: tricky, Terminal: true,
			OccurredAt: &occurred, OccurredAtRaw: "2026-05-06 07:08:09", ReceivedAt: occurred.UTC(),
			Courier: &shipment.Courier{Name: tricky, Phone: "+62"}, Reason: tricky,
			Proof:       []shipment.Media{{Kind: "delivery_proof", URL: "https://x/y?a=1&b=<2>"}},
			TrackingURL: "https://t?a=1&b=2",
			Origin:      &shipment.Place{Name: "o", Latitude: &lat, Longitude: &lon},
			Destination: &shipment.Place{City: "Jakarta"},
			Amounts:     &shipment.Amounts{Currency: "IDR", COD: "1000"},
			Raw:         shipment.RawRef{Topic: "raw", Partition: 5, Offset: 1 << 40, RequestID: tricky},
		},
	}
	tests := map[string]shipment.Event{
		"every field":  full,
		"zero value":   {},
		"empty slices": {Data: shipment.Data{Proof: []shipment.Media{}}},
		"year 10000":   {Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		// The member name inside strings before data (source, subject) and in
		// data before the member itself must not be taken for it.
		"advances in strings": {Source: `,"advances":false`, Subject: `{"advances":false}`,
			Data: shipment.Data{Provider: `,"advances":false,`, ProviderStatus: `"advances":false`}},
	}
	for name, ev := range tests {
		t.Run(name, func(t *testing.T) { assertEncodesLikeJSON(t, ev) })
	}
}

func FuzzEncodeEvent(f *testing.F) {
	f.Add("K-1", "Dikirim", "<&>", int64(3))
	f.Add("\xff", "\u2028", "\x00", int64(-1))
	f.Fuzz(func(t *testing.T, id, status, reason string, off int64) {
		ev := shipment.Event{
			ID: id, Subject: "komerce:" + id, Time: time.Unix(off%1e10, off%1e9).UTC(),
			Data: shipment.Data{ShipmentID: id, ProviderStatus: status, Reason: reason, Raw: shipment.RawRef{Offset: off}},
		}
		assertEncodesLikeJSON(t, ev)
	})
}

// fillAll sets every field of v (recursively: pointers allocated, slices of
// one element, strings "s", numbers 7, bools true, times a fixed instant) so
// no field is empty and none is left out by omitempty.
func fillAll(v reflect.Value) {
	if v.Type() == reflect.TypeOf(time.Time{}) {
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillAll(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillAll(v.Index(0))
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(7)
	}
}

// TestEncodeEvent_everyDataFieldEncoded fails when a field of shipment.Data is
// not in the canonical JSON (e.g. tagged json:"-"): with every field set,
// encodeEvent must equal encoding/json and every JSON name of Data must appear.
func TestEncodeEvent_everyDataFieldEncoded(t *testing.T) {
	var ev shipment.Event
	fillAll(reflect.ValueOf(&ev).Elem())
	assertEncodesLikeJSON(t, ev)
	enc, err := encodeEvent(&ev)
	require.NoError(t, err)
	var got struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(enc.value(true), &got))
	dt := reflect.TypeOf(shipment.Data{})
	for i := 0; i < dt.NumField(); i++ {
		name, _, _ := strings.Cut(dt.Field(i).Tag.Get("json"), ",")
		assert.Contains(t, got.Data, name, "data.%s not encoded", name)
	}
}

// BenchmarkEncodeEvent is the CPU cost of encoding one canonical event when a
// batch is prepared: the normbench Komerce event (see cmd/normbench) and a
// fully populated one.
func BenchmarkEncodeEvent(b *testing.B) {
	outs, err := adapter.Normalize(adapter.RawRecord{
		Provider: "komerce", Body: []byte(`{"order_no":"KOM-00000001","cnote":"JNE00000001","status":"Dikirim"}`),
		ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), Topic: "normbench.raw", Partition: 1, Offset: 12345,
	})
	require.NoError(b, err)
	var full shipment.Event
	fillAll(reflect.ValueOf(&full).Elem())
	for name, ev := range map[string]*shipment.Event{"komerce": &outs[0].Event, "every_field": &full} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeEvent(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
