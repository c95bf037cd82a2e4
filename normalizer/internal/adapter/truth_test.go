package adapter_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// normalize runs one body through the registry.
func normalize(t *testing.T, provider, body string) ([]adapter.Output, error) {
	t.Helper()
	return adapter.Normalize(fixtureRecord(provider, "truth", []byte(body)))
}

// normalizeOne normalizes body and requires exactly one output, without error.
func normalizeOne(t *testing.T, provider, body string) adapter.Output {
	t.Helper()
	outs, err := normalize(t, provider, body)
	require.NoError(t, err)
	require.Len(t, outs, 1)
	return outs[0]
}

// live returns the outputs that are events (not Dead).
func live(outs []adapter.Output) []adapter.Output {
	var out []adapter.Output
	for _, o := range outs {
		if o.Dead == nil {
			out = append(out, o)
		}
	}
	return out
}

// TestTolerantDecoding_PHPEmptyObjects covers issue 11's "one odd field
// dead-letters a whole good body": each body used to go to the raw DLQ
// (unsupported_payload); now it yields its event and names the dropped field.
func TestTolerantDecoding_PHPEmptyObjects(t *testing.T) {
	kjFinished := func(extra string) string {
		return `{"method":"finished_packages","data":[{"order_id":"OID-1","awb":"AWB-1","finished_at":"2025-08-06 10:00:00"` + extra + `}],` +
			`"payment":%s,"packages":[{"order_id":"OID-1","awb":"AWB-1","service":"jne","service_type":"REG","status":200,"origin":%s,"driver":%s}]}`
	}
	tests := []struct {
		name, provider, body string
		status               shipment.Status
		dropped              []string
	}{
		{"kiriminaja payment []", "kiriminaja", fmt.Sprintf(kjFinished(""), `[]`, `{"name":"A"}`, `null`), shipment.StatusDelivered, []string{"payment"}},
		{"kiriminaja driver []", "kiriminaja", fmt.Sprintf(kjFinished(""), `{"amount":1}`, `{"name":"A"}`, `[]`), shipment.StatusDelivered, []string{"packages[].driver"}},
		{"kiriminaja origin []", "kiriminaja", fmt.Sprintf(kjFinished(""), `{"amount":1}`, `[]`, `null`), shipment.StatusDelivered, []string{"packages[].origin"}},
		{"kiriminaja all three", "kiriminaja", fmt.Sprintf(kjFinished(`,"driver":[]`), `[]`, `[]`, `[]`), shipment.StatusDelivered,
			[]string{"payment", "packages[].origin", "packages[].driver", "data[].driver"}},
		{"dash courier \"\"", "dash", `{"deliveryID":"DE-1","status":"COMPLETED","courier":"","completedAt":"2025-01-01T00:00:00Z"}`, shipment.StatusDelivered, []string{"courier"}},
		{"dash media {}", "dash", `{"deliveryID":"DE-1","status":"COMPLETED","media":{},"completedAt":"2025-01-01T00:00:00Z"}`, shipment.StatusDelivered, []string{"media"}},
		{"sendstack pickup \"\"", "sendstack", `{"eventType":"order.new","webhookId":"w1","pickup":"","drops":[{"id":"d1","status":"PENDING"}]}`, shipment.StatusCreated, []string{"pickup"}},
		{"number where a string is", "dash", `{"deliveryID":"DE-1","status":"COMPLETED","failedReason":{"x":1},"trackingURL":[1]}`, shipment.StatusDelivered, []string{"trackingURL", "failedReason"}},
		{"object where an array is", "dash", `{"deliveryID":"DE-1","status":"COMPLETED","packages":{"a":1}}`, shipment.StatusDelivered, []string{"packages"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := normalizeOne(t, tc.provider, tc.body)
			assert.Nil(t, out.Dead)
			assert.Equal(t, tc.status, out.Event.Data.Status)
			assert.ElementsMatch(t, tc.dropped, out.Dropped)
			assert.NoError(t, shipment.ValidateEvent(out.Event))
		})
	}
}

// TestTolerantDecoding_OnlyIdentityOrStatusDeadLetters: a body whose id field
// has the wrong type has no identity, and dead-letters.
func TestTolerantDecoding_OnlyIdentityOrStatusDeadLetters(t *testing.T) {
	_, err := normalize(t, "dash", `{"deliveryID":{"id":"DE-1"},"status":"COMPLETED"}`)
	assert.Equal(t, adapter.ReasonMissingShipmentID, adapter.ReasonOf(err))
	_, err = normalize(t, "komerce", `{"order_no":[],"cnote":{},"status":"Dikirim"}`)
	assert.Equal(t, adapter.ReasonMissingShipmentID, adapter.ReasonOf(err))
}

// TestMultiOrder_OneBadOrderDeadLettersAlone: a multi-order body yields its
// good orders plus one Dead output naming the bad order's index.
func TestMultiOrder_OneBadOrderDeadLettersAlone(t *testing.T) {
	tests := []struct{ name, provider, body, label string }{
		{"kiriminaja missing order_id", "kiriminaja", `{"method":"finished_packages","data":[{"order_id":"A","finished_at":"2025-08-06 10:00:00"},{"finished_at":"2025-08-06 10:00:00"},{"order_id":"C","finished_at":"2025-08-06 10:00:00"}]}`, "order[1]"},
		{"kiriminaja row not an object", "kiriminaja", `{"method":"finished_packages","data":[{"order_id":"A"},7,{"order_id":"C"}]}`, "order[1]"},
		{"komerce array", "komerce", `[{"order_no":"A","status":"Dikirim"},{"order_no":"B","status":"Dikirim"},{"status":"Dikirim"}]`, "order[2]"},
		{"sendstack drops", "sendstack", `{"eventType":"order.new","webhookId":"w","drops":[{"status":"PENDING"},{"id":"d2","status":"PENDING"},{"id":"d3","status":"PENDING"}]}`, "drop[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outs, err := normalize(t, tc.provider, tc.body)
			require.NoError(t, err)
			require.Len(t, live(outs), 2)
			var dead []*adapter.Error
			for _, o := range outs {
				if o.Dead != nil {
					dead = append(dead, o.Dead)
					assert.Empty(t, o.Event.ID, "a Dead output carries no event")
				}
			}
			require.Len(t, dead, 1)
			assert.Equal(t, adapter.ReasonMissingShipmentID, dead[0].Reason)
			assert.Contains(t, dead[0].Error(), tc.label)
		})
	}
}

// TestPayment_NotCopiedOntoEveryOrder: one payment amount of a multi-order
// KiriminAja body is on no order; a one-order body keeps it.
func TestPayment_NotCopiedOntoEveryOrder(t *testing.T) {
	outs, err := normalize(t, "kiriminaja", `{"method":"processed_packages","data":[{"order_id":"A","awb":"1"},{"order_id":"B","awb":"2"}],"payment":{"amount":64000}}`)
	require.NoError(t, err)
	require.Len(t, outs, 2)
	for _, o := range outs {
		assert.Nil(t, o.Event.Data.Amounts, "order %s", o.Event.Data.ShipmentID)
	}
	outs, err = normalize(t, "kiriminaja", `{"method":"processed_packages","data":[{"order_id":"A","awb":"1"}],"payment":{"amount":64000}}`)
	require.NoError(t, err)
	require.NotNil(t, outs[0].Event.Data.Amounts)
	assert.Equal(t, "64000", outs[0].Event.Data.Amounts.ShippingCost)
}

// TestVocabulary_KnownMeanings covers issue 11's "known meanings come out
// unknown" bullet, one row per named case.
func TestVocabulary_KnownMeanings(t *testing.T) {
	komerce := func(s string) string { return fmt.Sprintf(`{"order_no":"K-1","cnote":"C-1","status":%q}`, s) }
	kjProblem := func(code int, reason string) string {
		return fmt.Sprintf(`{"method":"problem_packages","data":[{"order_id":"O-1","awb":"A-1","date":"2026-06-29T09:56:22Z","reason":%q}],"packages":[{"order_id":"O-1","awb":"A-1","service":"jne","service_type":"REG23","status":%d}]}`, reason, code)
	}
	tests := []struct {
		name, provider, body string
		status               shipment.Status
		sub                  string
		terminal, inferred   bool
	}{
		{"sendstack drop DELIVERED", "sendstack", `{"eventType":"drop.updated","webhookId":"w","drops":[{"id":"d1","status":"DELIVERED"}]}`, shipment.StatusDelivered, shipment.SubDeliveredToRecipient, true, false},
		{"sendstack drop CANCELLED", "sendstack", `{"eventType":"x","webhookId":"w","drops":[{"id":"d1","status":"CANCELLED"}]}`, shipment.StatusCancelled, shipment.SubCancelledOther, true, false},
		{"komerce Retur", "komerce", komerce("Retur"), shipment.StatusReturning, shipment.SubReturningToSender, false, false},
		{"komerce Dikembalikan", "komerce", komerce("Dikembalikan"), shipment.StatusReturned, shipment.SubReturnedToSender, true, false},
		{"komerce Gagal Kirim", "komerce", komerce("Gagal Kirim"), shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedRecoverable, false, false},
		{"komerce Hilang", "komerce", komerce("Hilang"), shipment.StatusException, shipment.SubExceptionLost, false, false},
		{"komerce Dikemas", "komerce", komerce("Dikemas"), shipment.StatusAwaitingPickup, shipment.SubAwaitingPickupOther, false, false},
		{"komerce Diterima is delivered", "komerce", komerce("Diterima"), shipment.StatusDelivered, shipment.SubDeliveredToRecipient, true, false},
		{"komerce 3P field names", "komerce", `{"order_no":"K-1","awb":"C-1","status_pengiriman":"Selesai"}`, shipment.StatusDelivered, shipment.SubDeliveredToRecipient, true, false},
		{"kiriminaja problem code 152", "kiriminaja", kjProblem(152, ""), shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedRedeliveryScheduled, false, false},
		{"kiriminaja problem code 301", "kiriminaja", kjProblem(301, ""), shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedRecipientRefused, false, false},
		{"kiriminaja problem reason address", "kiriminaja", kjProblem(500, "Alamat tidak ditemukan"), shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedAddressProblem, false, false},
		{"kiriminaja problem reason not home", "kiriminaja", kjProblem(500, "Penerima tidak ada di tempat"), shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedRecipientUnavailable, false, false},
		{"kiriminaja problem other stays exception", "kiriminaja", kjProblem(500, "Paket rusak"), shipment.StatusException, shipment.SubExceptionProblemReported, false, false},
		{"kiriminaja problem lost code", "kiriminaja", kjProblem(701, ""), shipment.StatusException, shipment.SubExceptionLost, false, false},
		{"kiriminaja unknown method, finished_at", "kiriminaja", `{"method":"delivered_packages","data":[{"order_id":"O-1","shipped_at":"2025-08-05 09:00:00","finished_at":"2025-08-06 09:58:00"}]}`, shipment.StatusDelivered, shipment.SubDeliveredToRecipient, true, true},
		{"kiriminaja unknown method, canceled_at", "kiriminaja", `{"method":"void_packages","data":[{"order_id":"O-1","canceled_at":"2025-08-06 09:58:00"}]}`, shipment.StatusCancelled, shipment.SubCancelledByCarrier, true, true},
		{"dash EXPRESS FAILED without pickup proof is terminal", "dash", `{"deliveryID":"DE-1","status":"FAILED","failedCount":1,"media":[],"failedAt":"2025-01-01T00:00:00Z"}`, shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedFinal, true, false},
		{"dash serviceType INSTANT FAILED is EXPRESS", "dash", `{"deliveryID":"DE-1","status":"FAILED","serviceType":"INSTANT","media":[{"type":"FAILED_PROOF","url":"u"}]}`, shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedFinal, true, false},
		{"dash serviceCategory LOGISTIC FAILED recoverable", "dash", `{"deliveryID":"DE-1","status":"FAILED","serviceCategory":"LOGISTIC"}`, shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedRecoverable, false, false},
		{"dash FAILED_PROOF without PICKUP_PROOF is LOGISTIC", "dash", `{"deliveryID":"DE-1","status":"FAILED","media":[{"type":"FAILED_PROOF","url":"u"}]}`, shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedRecoverable, false, false},
		{"dash second failure is LOGISTIC", "dash", `{"deliveryID":"DE-1","status":"FAILED","failedCount":2}`, shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedRecoverable, false, false},
		{"dash unknown status, completedAt", "dash", `{"deliveryID":"DE-1","status":"DONE","completedAt":"2025-01-01T00:00:00Z"}`, shipment.StatusDelivered, shipment.SubDeliveredToRecipient, true, true},
		{"dash no status, cancelledAt", "dash", `{"deliveryID":"DE-1","cancelledAt":"2025-01-01T00:00:00Z"}`, shipment.StatusCancelled, shipment.SubCancelledByShipper, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := normalizeOne(t, tc.provider, tc.body).Event
			d := ev.Data
			assert.Equal(t, tc.status, d.Status)
			assert.Equal(t, tc.sub, d.SubStatus)
			assert.Equal(t, tc.terminal, d.Terminal)
			assert.Equal(t, tc.inferred, d.Inferred)
			assert.NoError(t, shipment.ValidateEvent(ev))
		})
	}
}

// TestRicherEvents: POD name, attempt, pickup time, proof times and windows.
func TestRicherEvents(t *testing.T) {
	outs, err := normalize(t, "dash", `{"deliveryID":"DE-1","merchantOrderID":"AWB-OLD","status":"COMPLETED","failedCount":1,
		"recipient":{"actualRecipientName":"John Doe"},"pickupAt":"2024-12-27T13:18:17.128Z",
		"media":[{"type":"PICKUP_PROOF","url":"p","createdAt":"2024-12-27T13:18:00Z"}],"completedAt":"2024-12-27T14:18:58.750Z"}`)
	require.NoError(t, err)
	d := outs[0].Event.Data
	assert.Equal(t, "John Doe", d.ReceivedBy)
	assert.Equal(t, 2, d.Attempt, "completed after one failure: the second attempt")
	assert.Equal(t, "AWB-OLD", d.MerchantOrderID, "pre-v4.1 merchantOrderID")
	require.NotNil(t, d.PickedUpAt)
	assert.Equal(t, "2024-12-27T13:18:17.128Z", d.PickedUpAt.Format("2006-01-02T15:04:05.000Z"))
	require.Len(t, d.Proof, 1)
	require.NotNil(t, d.Proof[0].TakenAt)

	outs, err = normalize(t, "sendstack", `{"eventType":"order.new","webhookId":"w","drops":[{"id":"d1","status":"PENDING",
		"estimatedDropoffWindow":{"date":"2023-08-22T00:00:00.000Z","start":"2023-08-22T13:00:00.000Z","end":"2023-08-22T18:00:00.000Z"}}]}`)
	require.NoError(t, err)
	w := outs[0].Event.Data.DeliveryWindow
	require.NotNil(t, w)
	assert.Equal(t, 13, w.Start.Hour())
	assert.Equal(t, 18, w.End.Hour())
}

// TestShipmentID_Bounded covers issue 13: an id over MaxShipmentIDBytes
// dead-letters with shipment_id_too_long (one order of a multi-order body
// alone), and invalid UTF-8 in an id is replaced so subject == key == id.
func TestShipmentID_Bounded(t *testing.T) {
	long := strings.Repeat("x", adapter.MaxShipmentIDBytes+1)
	for provider, body := range map[string]string{
		"dash":       fmt.Sprintf(`{"deliveryID":%q,"status":"COMPLETED"}`, long),
		"komerce":    fmt.Sprintf(`{"order_no":%q,"status":"Dikirim"}`, long),
		"sendstack":  fmt.Sprintf(`{"eventType":"order.new","drops":[{"id":%q}]}`, long),
		"kiriminaja": fmt.Sprintf(`{"method":"shipped_packages","data":[{"order_id":%q}]}`, long),
	} {
		t.Run(provider, func(t *testing.T) {
			_, err := normalize(t, provider, body)
			assert.Equal(t, adapter.ReasonShipmentIDTooLong, adapter.ReasonOf(err))
		})
	}
	ok := strings.Repeat("y", adapter.MaxShipmentIDBytes)
	outs, err := normalize(t, "kiriminaja", fmt.Sprintf(`{"method":"shipped_packages","data":[{"order_id":%q},{"order_id":%q}]}`, ok, long))
	require.NoError(t, err)
	require.Len(t, live(outs), 1)
	assert.Equal(t, ok, live(outs)[0].Event.Data.ShipmentID)
	require.NotNil(t, outs[1].Dead)
	assert.Equal(t, adapter.ReasonShipmentIDTooLong, outs[1].Dead.Reason)
	assert.Contains(t, outs[1].Dead.Error(), "order[1]")

	outs, err = adapter.Normalize(fixtureRecord("dash", "utf8", []byte("{\"deliveryID\":\"DE-\xff\xfe1\",\"status\":\"COMPLETED\"}")))
	require.NoError(t, err)
	ev := outs[0].Event
	assert.Equal(t, "DE-\uFFFD1", ev.Data.ShipmentID, "each invalid sequence becomes one U+FFFD")
	assert.Equal(t, "dash:DE-\uFFFD1", ev.Subject)
	assert.Equal(t, ev.Subject, ev.PartitionKey)
}
