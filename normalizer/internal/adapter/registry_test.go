package adapter_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// TestRegistry_EveryProviderHasValidFixtures is the registry-wide check (STYLE
// G6): every registered provider has fixtures and a table test, every output
// validates against the JSON Schema, outputs are deterministic, and the event
// id and key follow the dedup key and shipment id.
func TestRegistry_EveryProviderHasValidFixtures(t *testing.T) {
	names := adapter.Providers()
	sort.Strings(names)
	require.Equal(t, providers.Providers(), names, "the registry serves exactly the providers of schemas/providers")
	for _, p := range names {
		t.Run(p, func(t *testing.T) {
			fs := fixtures(t, p)
			require.NotEmpty(t, fs, "provider %s has no fixtures", p)
			seeds := 0
			for _, f := range fs {
				if len(f.Name) > 5 && f.Name[:5] == "seed_" {
					seeds++
				}
				outs, g := result(t, p, f)
				_, again := result(t, p, f)
				assert.Equal(t, g, again, "%s: two deliveries of the same bytes differ", f.Name)
				for i, o := range outs {
					b, err := json.Marshal(o.Event)
					require.NoError(t, err)
					assert.NoError(t, shipment.Validate(b), "%s output %d", f.Name, i)
					assert.Equal(t, shipment.EventID(o.DedupKey), o.Event.ID)
					assert.Equal(t, shipment.Key(p, o.Event.Data.ShipmentID), o.Event.Subject)
					assert.Equal(t, o.Event.Subject, o.Event.PartitionKey)
					assert.Equal(t, p, o.Event.Data.Provider)
					assert.True(t, shipment.ValidSubStatus(o.Event.Data.Status, o.Event.Data.SubStatus))
				}
				keys := map[string]bool{}
				for _, o := range outs {
					assert.False(t, keys[o.DedupKey], "%s: two events of one body share a dedup key", f.Name)
					keys[o.DedupKey] = true
				}
			}
			assert.NotZero(t, seeds, "provider %s has no seed payloads in schemas/providers/seed", p)
		})
	}
}

func TestNormalize_UnknownProvider(t *testing.T) {
	outs, err := adapter.Normalize(adapter.RawRecord{Provider: "fedex", Body: []byte(`{}`)})
	assert.Empty(t, outs)
	assert.Equal(t, adapter.ReasonUnknownProvider, adapter.ReasonOf(err))
	assert.ErrorIs(t, err, adapter.ErrUnknownProvider)
}

// namedStatuses lists every status, method and event type named in
// shared/seeds and shared/PROVIDERS.md, each in a minimal body, so the test
// goes through the adapters and not only through the tables.
func namedStatuses() map[string][]string {
	kj := func(method string) string {
		return fmt.Sprintf(`{"method":%q,"data":[{"order_id":"O-1","awb":"A-1","returned_at":"2022-05-05 00:00:00"}]}`, method)
	}
	kjInstant := func(method string, code int) string {
		return fmt.Sprintf(`{"method":%q,"data":[{"order_id":"O-1"}],"packages":[{"order_id":"O-1","service":"gosend","service_type":"instant","status":%d}]}`, method, code)
	}
	kjCode := func(code int) string {
		return fmt.Sprintf(`{"method":"status_update","data":[{"order_id":"O-1"}],"packages":[{"order_id":"O-1","service":"jne","service_type":"REG","status":%d}]}`, code)
	}
	dash := func(status, category string) string {
		return fmt.Sprintf(`{"deliveryID":"DE-1","status":%q,"category":%q}`, status, category)
	}
	komerce := func(status string) string { return fmt.Sprintf(`{"order_no":"K-1","cnote":"C-1","status":%q}`, status) }
	out := map[string][]string{}
	for _, m := range []string{
		"processed_packages", "shipped_packages", "finished_packages", "returned_packages",
		"return_finished_packages", "canceled_packages", "problem_packages", "rejected_packages",
		"validated_packages", "shipped_package", "finished_package", "canceled_package",
	} {
		out["kiriminaja"] = append(out["kiriminaja"], kj(m))
	}
	out["kiriminaja"] = append(out["kiriminaja"],
		`{"method":"returned_packages","data":[{"order_id":"O-1","returned_at":null}]}`,
		`{"method":"update_instant_packages","data":{"order_id":"O-1","status":"cancel"}}`,
		kjInstant("shipped_packages", 106), kjInstant("canceled_packages", 300), kjInstant("finished_packages", 200))
	for _, c := range []int{100, 101, 102, 103, 104, 105, 106, 107, 110, 152, 200, 210, 211, 300, 301, 302, 303,
		310, 311, 333, 350, 400, 401, 402, 403, 404, 405, 406, 500, 555, 701, 702, 703, 704, 900, 901, 902, 903, 904, 905} {
		out["kiriminaja"] = append(out["kiriminaja"], kjCode(c))
	}
	for _, s := range []string{"QUEUEING", "ALLOCATING", "PENDING_PICKUP", "PICKING_UP", "PENDING_DELIVERY", "IN_DELIVERY", "COMPLETED", "CANCELLED", "FAILED"} {
		out["dash"] = append(out["dash"], dash(s, "EXPRESS"), dash(s, ""))
	}
	for _, s := range []string{"PREPARING", "VERIFIED", "NOT_VERIFIED", "PENDING_DELIVERY", "IN_DELIVERY", "COMPLETED", "FAILED", "CANCELLED"} {
		out["dash"] = append(out["dash"], dash(s, "LOGISTIC"))
	}
	for _, s := range []string{"Diajukan", "Dijemput", "Dikirim", "Dibatalkan", "Selesai", "diajukan", " SELESAI ",
		"Diterima", "Dalam Perjalanan", "Terkirim", "Pending", "picked up", "on process", "ON_PROCESS",
		"delivering", "delivered", "DELIVERED", "cancelled",
		"Dikemas", "Gagal Kirim", "Retur", "Dikembalikan", "Hilang", "gagal_kirim"} {
		out["komerce"] = append(out["komerce"], komerce(s))
	}
	out["sendstack"] = []string{`{"eventType":"order.new","webhookId":"w","drops":[{"id":"d1","status":"PENDING"}]}`}
	for _, s := range []string{"PENDING", "DELIVERED", "CANCELLED", "CANCELED", "delivered"} {
		out["sendstack"] = append(out["sendstack"], fmt.Sprintf(`{"eventType":"drop.updated","drops":[{"id":"d1","status":%q}]}`, s))
	}
	for _, s := range []string{"serviceCategory", "category"} {
		out["dash"] = append(out["dash"], fmt.Sprintf(`{"deliveryID":"DE-1","status":"FAILED",%q:"LOGISTIC"}`, s))
	}
	return out
}

func TestRegistry_NamedStatusesAreMapped(t *testing.T) {
	for provider, bodies := range namedStatuses() {
		for _, body := range bodies {
			t.Run(provider+"/"+body, func(t *testing.T) {
				outs, err := adapter.Normalize(fixtureRecord(provider, "named", []byte(body)))
				require.NoError(t, err)
				require.NotEmpty(t, outs)
				for _, o := range outs {
					assert.NotEqual(t, shipment.StatusUnknown, o.Event.Data.Status)
					assert.NotEqual(t, shipment.SubUnknownUnmapped, o.Event.Data.SubStatus)
				}
			})
		}
	}
}

// TestMappingTable_RowsAreValid checks every documented row against the vocabulary.
func TestMappingTable_RowsAreValid(t *testing.T) {
	rows := adapter.MappingTable()
	require.NotEmpty(t, rows)
	for _, r := range rows {
		assert.Contains(t, adapter.Providers(), r.Provider, "%+v", r)
		assert.NotEqual(t, shipment.StatusUnknown, r.Status, "%+v", r)
		assert.True(t, shipment.ValidSubStatus(r.Status, r.SubStatus), "%+v", r)
	}
}

// TestMappingTable_EveryProviderHasRows: MappingTable lists its row sets by hand,
// so a registered provider left out of it would silently lose its rows in
// schemas/README.md. Every registered provider must have rows.
func TestMappingTable_EveryProviderHasRows(t *testing.T) {
	rows := map[string]int{}
	for _, r := range adapter.MappingTable() {
		rows[r.Provider]++
	}
	for _, p := range adapter.Providers() {
		assert.Positive(t, rows[p], "%s is registered but has no rows in MappingTable (mapping.go)", p)
	}
}
