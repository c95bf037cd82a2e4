package consume

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

func TestWithID_patchesTheEnvelopeID(t *testing.T) {
	ev := &shipment.Event{SpecVersion: shipment.SpecVersion, ID: shipment.EventID("a"), Subject: "komerce:K"}
	ev.Data.ReceivedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	enc, err := encodeEvent(ev)
	require.NoError(t, err)
	ev.ID = shipment.EventID("a#2")
	got, err := withID(enc, ev)
	require.NoError(t, err)
	want, err := encodeEvent(ev)
	require.NoError(t, err)
	assert.Equal(t, string(want.json), string(got.json))
	assert.Equal(t, want.split, got.split)

	ev.ID = "not-a-hex-id-of-another-length"
	got, err = withID(got, ev)
	require.NoError(t, err)
	assert.Contains(t, string(got.json), `"id":"not-a-hex-id-of-another-length"`, "another length is encoded again")
}

// TestCountDropped: fields an adapter left out are counted per provider and
// field in normalizer_fields_dropped_total; an unregistered provider header is
// labelled "other".
func TestCountDropped(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := &Consumer{cfg: Config{MaxEventBytes: 1 << 20}, m: NewMetrics(reg), now: time.Now,
		d: Deps{Normalize: func(rec adapter.RawRecord) ([]adapter.Output, error) {
			if rec.Provider == "kiriminaja" {
				return adapter.Normalize(rec)
			}
			outs, err := adapter.Normalize(adapter.RawRecord{Provider: "komerce", Body: rec.Body, ReceivedAt: rec.ReceivedAt})
			for i := range outs {
				outs[i].Dropped = []string{"made_up"}
			}
			return outs, err
		}}}
	// PHP serialises an empty object as []: payment, driver and origin are dropped.
	body := `{"method":"shipped_packages","data":[{"order_id":"OID-D1","awb":"AWB-D1","shipped_at":"2025-08-05T09:00:00Z"}],
		"payment":[],"packages":[{"order_id":"OID-D1","awb":"AWB-D1","status":106,"driver":[],"origin":[]}]}`
	b := c.prepare([]kafka.Message{
		msg("kiriminaja", body), msg("kiriminaja", body),
		msg("weird", `{"order_no":"K1","cnote":"C1","status":"Dikirim"}`),
	})
	require.Len(t, b.items, 3)
	require.NoError(t, b.items[0].err)
	require.NotEmpty(t, b.items[0].outs[0].Dropped, "the adapter reports the fields it dropped")
	countDropped(c.m, b.items)

	n, err := testutil.GatherAndCount(reg, "normalizer_fields_dropped_total")
	require.NoError(t, err)
	assert.Equal(t, len(b.items[0].outs[0].Dropped)+1, n, "one series per dropped field, plus other/made_up")
	for _, f := range b.items[0].outs[0].Dropped {
		assert.Equal(t, 2.0, testutil.ToFloat64(c.m.FieldsDropped.WithLabelValues("kiriminaja", f)), "field %s, two bodies", f)
	}
	assert.Contains(t, strings.Join(b.items[0].outs[0].Dropped, ","), "payment")
	assert.Equal(t, 1.0, testutil.ToFloat64(c.m.FieldsDropped.WithLabelValues("other", "made_up")))
}

func msg(provider, body string) kafka.Message {
	return kafka.Message{Topic: "raw", Value: []byte(body), Headers: []kafka.Header{
		{Key: schemas.HeaderProvider, Value: []byte(provider)},
		{Key: schemas.HeaderReceivedAt, Value: []byte("2026-01-02T03:04:05Z")},
	}}
}
