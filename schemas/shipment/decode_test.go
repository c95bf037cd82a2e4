package shipment_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/schemas/shipment"
	"github.com/courierhook/pipeline/schemas/shipment/shipmenttest"
)

// randomEvent fills every field of an event from r, optional ones half the time,
// with strings that need escaping (invalid UTF-8 included), times in several
// zones and precisions, and coordinates of any magnitude.
func randomEvent(r *rand.Rand) shipment.Event {
	str := func() string {
		parts := []string{"", "a", "Budi Santoso", `"quoted"`, `back\slash`, "line\nbreak", "tab\t", "<b>&amp;</b>",
			"Jl. Sudirman No. 5, Jakarta", "+62 812-3456-7890", "é ü ß", "日本語", "😀", "\u2028\u2029", "\x01\x1f", "\ufffd", "\xff\xfe"}
		var b strings.Builder
		for range r.IntN(4) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		return b.String()
	}
	tm := func() time.Time {
		zones := []*time.Location{time.UTC, time.FixedZone("", 7*3600), time.FixedZone("", -5*3600-1800), time.FixedZone("WIB", 7*3600)}
		t := time.Unix(r.Int64N(4102444800), 0).In(zones[r.IntN(len(zones))])
		if r.IntN(2) == 0 {
			t = t.Add(time.Duration(r.IntN(1e9)))
		}
		return t
	}
	opt := func() bool { return r.IntN(2) == 0 }
	ptm := func() *time.Time {
		if opt() {
			return nil
		}
		t := tm()
		return &t
	}
	pf := func() *float64 {
		if opt() {
			return nil
		}
		f := []float64{0, -6.2, 106.816666, 1e-7, -1e21, 123456789.123, math.SmallestNonzeroFloat64}[r.IntN(7)]
		return &f
	}
	place := func() *shipment.Place {
		if opt() {
			return nil
		}
		return &shipment.Place{Name: str(), Phone: str(), Address: str(), City: str(), PostalCode: str(), Latitude: pf(), Longitude: pf()}
	}
	win := func() *shipment.Window {
		if opt() {
			return nil
		}
		return &shipment.Window{Start: ptm(), End: ptm()}
	}
	ev := shipment.Event{
		SpecVersion: str(), ID: str(), Source: str(), Type: str(), Subject: str(), Time: tm(),
		DataContentType: str(), DataSchema: str(), PartitionKey: str(),
		Data: shipment.Data{
			SchemaVersion: r.IntN(3), Provider: str(), ProviderEvent: str(), ShipmentID: str(), OrderID: str(),
			MerchantOrderID: str(), TrackingNumber: str(), Service: str(), ServiceType: shipment.ServiceType(str()),
			Status: shipment.Status(str()), SubStatus: str(), ProviderStatus: str(), Terminal: opt(), Advances: opt(),
			OccurredAt: ptm(), OccurredAtRaw: str(), ReceivedAt: tm(), Reason: str(), TrackingURL: str(),
			Origin: place(), Destination: place(), Inferred: opt(), ReceivedBy: str(), Attempt: r.IntN(5) - 1,
			PickedUpAt: ptm(), PickupWindow: win(), DeliveryWindow: win(), Corrects: str(),
			Raw: shipment.RawRef{Topic: str(), Partition: r.IntN(64), Offset: r.Int64N(math.MaxInt64), RequestID: str()},
		},
	}
	if opt() {
		ev.Data.Courier = &shipment.Courier{Company: str(), Name: str(), Phone: str(), Vehicle: str(), PhotoURL: str()}
	}
	if opt() {
		ev.Data.Amounts = &shipment.Amounts{Currency: str(), ShippingCost: str(), COD: str(), ItemValue: str()}
	}
	for range r.IntN(3) {
		ev.Data.Proof = append(ev.Data.Proof, shipment.Media{Kind: str(), URL: str(), TakenAt: ptm()})
	}
	return ev
}

// mutate damages a JSON value the ways a broken or foreign record would be:
// a byte cut, dropped, doubled or replaced, or a member's value of another
// type (an overflowing number, a bad time, a string where a number belongs).
func mutate(r *rand.Rand, b []byte) []byte {
	if r.IntN(5) < 4 {
		return shipmenttest.Damage(r, b)
	}
	vals := []string{`"x"`, `1`, `-1.5e3`, `true`, `null`, `[]`, `{}`, `""`, `"2025-13-45T99:00:00Z"`, `1e400`,
		`24834794874777088058`, `-9223372036854775809`, `"\ud800"`}
	if len(b) == 0 {
		return b
	}
	i := r.IntN(len(b))
	j := strings.Index(string(b[i:]), `":`)
	if j < 0 {
		return append([]byte(nil), b...)
	}
	k := i + j + 2
	end := k
	for end < len(b) && b[end] != ',' && b[end] != '}' {
		end++
	}
	return append(append(append([]byte(nil), b[:k]...), vals[r.IntN(len(vals))]...), b[end:]...)
}

// requireSame fails unless Decode gave encoding/json's result for b: the same
// error, or the same event (compared by their encodings, so equal instants in
// equal zones compare equal, and by instant).
func requireSame(t *testing.T, b []byte) {
	t.Helper()
	var got, want shipment.Event
	gotErr := shipment.Decode(b, &got)
	wantErr := json.Unmarshal(b, &want)
	if wantErr != nil {
		require.Error(t, gotErr, "encoding/json refuses %q", b)
		require.Equal(t, wantErr.Error(), gotErr.Error())
		require.Equal(t, shipment.Event{}, got, "a refused value leaves ev zero")
		return
	}
	require.NoError(t, gotErr, "encoding/json accepts %q", b)
	gj, err := json.Marshal(&got)
	require.NoError(t, err)
	wj, err := json.Marshal(&want)
	require.NoError(t, err)
	require.Equal(t, string(wj), string(gj), "decoding %q", b)
	require.True(t, got.Time.Equal(want.Time) && got.Data.ReceivedAt.Equal(want.Data.ReceivedAt))
}

// TestDecode_sameAsEncodingJSON: over random events and damaged copies of them,
// Decode gives encoding/json's event or encoding/json's error.
func TestDecode_sameAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 3000 {
		ev := randomEvent(r)
		b, err := json.Marshal(&ev)
		require.NoError(t, err)
		requireSame(t, b)
		for range 5 {
			requireSame(t, mutate(r, b))
		}
	}
	for _, b := range []string{`{"data":{"raw":{"offset":24834794874777088058}}}`, `{"time":"10000-01-01T00:00:00Z"}`,
		`{"data":{"attempt":"2"}}`, `{"data":{"destination":{"phone":"+62 812 3456 7890"}}} x`, `null`, `[]`, ``} {
		requireSame(t, []byte(b))
	}
}

// FuzzDecode holds Decode to encoding/json's result on any input.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		ev := randomEvent(r)
		b, err := json.Marshal(&ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"data":{"attempt":"2"}}`))
	f.Add([]byte(`{"time":"2025-01-02T03:04:05+07:00","data":{"occurred_at":null,"raw":{"offset":1e3}}}`))
	f.Fuzz(func(t *testing.T, b []byte) { requireSame(t, b) })
}

// BenchmarkDecode: Decode against encoding/json on a typical event.
func BenchmarkDecode(b *testing.B) {
	ev := fullEvent()
	v, err := json.Marshal(&ev)
	require.NoError(b, err)
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var e shipment.Event
			if err := shipment.Decode(v, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var e shipment.Event
			if err := json.Unmarshal(v, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
