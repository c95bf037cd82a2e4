package shipment_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// fullEvent sets every field, so a JSON name the schema lacks fails validation.
func fullEvent() shipment.Event {
	at := time.Date(2025, 8, 5, 6, 59, 31, 0, time.UTC)
	lat, lon := -6.2, 106.8
	key := shipment.Key("dash", "DE-1")
	return shipment.Event{
		SpecVersion: shipment.SpecVersion, ID: shipment.EventID("dash|DE-1|completed|x"),
		Source: shipment.Source("dash"), Type: shipment.EventType, Subject: key, Time: at,
		DataContentType: shipment.DataContentType, DataSchema: shipment.DataSchemaURI, PartitionKey: key,
		Data: shipment.Data{
			SchemaVersion: shipment.DataVersion, Provider: "dash", ProviderEvent: "webhook",
			ShipmentID: "DE-1", OrderID: "DE-1", MerchantOrderID: "AWB-1", TrackingNumber: "AWB-1",
			Service: "EXPRESS", ServiceType: shipment.ServiceInstant,
			Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient,
			ProviderStatus: "COMPLETED", Terminal: true, Advances: true,
			OccurredAt: &at, OccurredAtRaw: "2025-08-05T06:59:31.000Z", ReceivedAt: at.Add(time.Second),
			Courier:     &shipment.Courier{Company: "Dash", Name: "Agus", Phone: "0877", Vehicle: "motorbike", PhotoURL: "https://x/p.jpg"},
			Reason:      "none",
			Proof:       []shipment.Media{{Kind: "delivery_proof", URL: "https://x/pod.jpg"}},
			TrackingURL: "https://track.example/1",
			Origin:      &shipment.Place{Name: "Budi", Phone: "0812", Address: "Cipete", City: "Jakarta", PostalCode: "12410", Latitude: &lat, Longitude: &lon},
			Destination: &shipment.Place{Name: "Sari", Address: "Depok"},
			Amounts:     &shipment.Amounts{Currency: "IDR", ShippingCost: "21000", COD: "150000.50", ItemValue: "23000"},
			Raw:         shipment.RawRef{Topic: "webhooks.raw.v1", Partition: 2, Offset: 99, RequestID: "req-1"},
		},
	}
}

func TestValidateEvent_GoTypeValidates(t *testing.T) {
	minimal := fullEvent()
	minimal.Data = shipment.Data{
		SchemaVersion: shipment.DataVersion, Provider: "komerce", ShipmentID: "K-1",
		ServiceType: shipment.ServiceUnknown, Status: shipment.StatusUnknown,
		SubStatus: shipment.SubUnknownUnmapped, ReceivedAt: time.Unix(0, 0).UTC(),
		Raw: shipment.RawRef{Topic: "webhooks.raw.v1"},
	}
	tests := map[string]shipment.Event{"every_field_set": fullEvent(), "only_required": minimal}
	for name, ev := range tests {
		t.Run(name, func(t *testing.T) {
			assert.NoError(t, shipment.ValidateEvent(ev))
		})
	}
}

// TestValidateEvent_EveryStatusAndSubStatus builds one event per vocabulary
// entry: the schema accepts every Go sub-status under its own status.
func TestValidateEvent_EveryStatusAndSubStatus(t *testing.T) {
	for _, sub := range shipment.SubStatuses {
		ev := fullEvent()
		ev.Data.Status, ev.Data.SubStatus = shipment.SubStatusParent(sub), sub
		assert.NoError(t, shipment.ValidateEvent(ev), sub)
	}
}

func TestValidate_RejectsBadDocuments(t *testing.T) {
	tests := map[string]func(m map[string]any){
		"missing_id":                func(m map[string]any) { delete(m, "id") },
		"missing_data":              func(m map[string]any) { delete(m, "data") },
		"missing_data_status":       func(m map[string]any) { delete(data(m), "status") },
		"missing_shipment_id":       func(m map[string]any) { delete(data(m), "shipment_id") },
		"empty_shipment_id":         func(m map[string]any) { data(m)["shipment_id"] = "" },
		"missing_raw":               func(m map[string]any) { delete(data(m), "raw") },
		"status_not_in_enum":        func(m map[string]any) { data(m)["status"] = "lost_in_space" },
		"status_wrong_case":         func(m map[string]any) { data(m)["status"] = "DELIVERED" },
		"sub_status_not_in_enum":    func(m map[string]any) { data(m)["sub_status"] = "delivered.by_drone" },
		"sub_status_of_other_state": func(m map[string]any) { data(m)["sub_status"] = shipment.SubCancelledOther },
		"time_not_rfc3339":          func(m map[string]any) { m["time"] = "2025-08-05 06:59:31" },
		"occurred_at_bad_format":    func(m map[string]any) { data(m)["occurred_at"] = "05/08/2025" },
		"received_at_not_a_string":  func(m map[string]any) { data(m)["received_at"] = 1754377171 },
		"id_not_hex":                func(m map[string]any) { m["id"] = "not-an-id" },
		"wrong_specversion":         func(m map[string]any) { m["specversion"] = "0.3" },
		"wrong_schema_version":      func(m map[string]any) { data(m)["schema_version"] = 2 },
		"unknown_data_field":        func(m map[string]any) { data(m)["surprise"] = true },
		"amount_as_number":          func(m map[string]any) { data(m)["amounts"].(map[string]any)["shipping_cost"] = 21000 },
		"amount_with_exponent":      func(m map[string]any) { data(m)["amounts"].(map[string]any)["shipping_cost"] = "2.1e4" },
		"bad_service_type":          func(m map[string]any) { data(m)["service_type"] = "rocket" },
		"bad_media_kind":            func(m map[string]any) { data(m)["proof"] = []any{map[string]any{"kind": "selfie", "url": "u"}} },
		"negative_offset":           func(m map[string]any) { data(m)["raw"].(map[string]any)["offset"] = -1 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(fullEvent())
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal(b, &m))
			mutate(m)
			b, err = json.Marshal(m)
			require.NoError(t, err)
			err = shipment.Validate(b)
			require.Error(t, err)
			assert.True(t, errors.Is(err, shipment.ErrInvalidEvent), "%v", err)
		})
	}
}

func TestValidate_NotJSON(t *testing.T) {
	for name, doc := range map[string]string{"empty": "", "garbage": "{not json", "truncated": `{"id":`} {
		t.Run(name, func(t *testing.T) {
			err := shipment.Validate([]byte(doc))
			require.Error(t, err)
			assert.False(t, errors.Is(err, shipment.ErrInvalidEvent))
		})
	}
}

func data(m map[string]any) map[string]any { return m["data"].(map[string]any) }

// schemaDoc is the embedded schema, decoded.
func schemaDoc(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(shipment.SchemaJSON, &m))
	return m
}

func enum(t *testing.T, def string) []string {
	t.Helper()
	raw := schemaDoc(t)["$defs"].(map[string]any)[def].(map[string]any)["enum"].([]any)
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i] = v.(string)
	}
	return out
}

// TestSchema_VocabularyMatchesGo keeps the schema's closed lists equal to the Go ones.
func TestSchema_VocabularyMatchesGo(t *testing.T) {
	var statuses []string
	for _, s := range shipment.Statuses {
		statuses = append(statuses, string(s))
	}
	assert.Equal(t, statuses, enum(t, "status"))
	assert.Equal(t, shipment.SubStatuses, enum(t, "sub_status"))
	assert.ElementsMatch(t, []string{
		string(shipment.ServiceInstant), string(shipment.ServiceSameDay), string(shipment.ServiceExpress),
		string(shipment.ServiceLogistic), string(shipment.ServiceUnknown),
	}, enum(t, "service_type"))
}

func TestSubStatuses_WellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, sub := range shipment.SubStatuses {
		assert.False(t, seen[sub], "duplicate %s", sub)
		seen[sub] = true
		assert.True(t, shipment.SubStatusParent(sub).Valid(), "%s refines no status", sub)
		assert.True(t, shipment.ValidSubStatus(shipment.SubStatusParent(sub), sub), sub)
	}
	for _, s := range shipment.Statuses {
		assert.True(t, seen[shipment.OtherSubStatus(s)], "status %s has no catch-all", s)
	}
	assert.Equal(t, shipment.SubUnknownUnmapped, shipment.OtherSubStatus("bogus"))
	assert.False(t, shipment.ValidSubStatus(shipment.StatusDelivered, shipment.SubCancelledOther))
}

// TestSchema_PropertiesMatchGoFields checks that every JSON name of the Go
// types is a schema property and the other way round.
func TestSchema_PropertiesMatchGoFields(t *testing.T) {
	defs := schemaDoc(t)["$defs"].(map[string]any)
	tests := map[string]struct {
		typ   reflect.Type
		props map[string]any
	}{
		"envelope": {reflect.TypeOf(shipment.Event{}), schemaDoc(t)["properties"].(map[string]any)},
		"data":     {reflect.TypeOf(shipment.Data{}), defs["data"].(map[string]any)["properties"].(map[string]any)},
		"courier":  {reflect.TypeOf(shipment.Courier{}), defs["courier"].(map[string]any)["properties"].(map[string]any)},
		"media":    {reflect.TypeOf(shipment.Media{}), defs["media"].(map[string]any)["properties"].(map[string]any)},
		"place":    {reflect.TypeOf(shipment.Place{}), defs["place"].(map[string]any)["properties"].(map[string]any)},
		"amounts":  {reflect.TypeOf(shipment.Amounts{}), defs["amounts"].(map[string]any)["properties"].(map[string]any)},
		"raw":      {reflect.TypeOf(shipment.RawRef{}), defs["raw"].(map[string]any)["properties"].(map[string]any)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var goNames, schemaNames []string
			for i := 0; i < tc.typ.NumField(); i++ {
				n, _, _ := strings.Cut(tc.typ.Field(i).Tag.Get("json"), ",")
				goNames = append(goNames, n)
			}
			for n := range tc.props {
				schemaNames = append(schemaNames, n)
			}
			sort.Strings(goNames)
			sort.Strings(schemaNames)
			assert.Equal(t, goNames, schemaNames)
		})
	}
}
