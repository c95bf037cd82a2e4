package adapter_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// Bodies of the names issue 11's vocabulary research found in the providers'
// published history, own code and third-party integrations (schemas/README.md
// cites each row's source).
func kjLegacyUpdate(status, extra string) string {
	return fmt.Sprintf(`{"method":"update_instant_packages","data":{"order_id":"NBL2-1","status":%q,"awb":"GK-11-1","service":"gosend","service_name":"instant","event_date":"2024-01-10T08:21:28.301662Z"%s}}`, status, extra)
}

func kjLegacyMethod(method, row string) string {
	return fmt.Sprintf(`{"method":%q,"data":[{"order_id":"OID-00001"%s}]}`, method, row)
}

func dashGlossary(status, extra string) string {
	return fmt.Sprintf(`{"deliveryID":"DE-1","status":%q,"updatedAt":"2025-06-01T10:00:00.000Z"%s}`, status, extra)
}

// TestVocabulary_PublishedHistory maps one body per new name and checks the
// whole verdict: status, sub-status, terminal, the reason and event time the
// body carries, and the service type its scheme implies.
func TestVocabulary_PublishedHistory(t *testing.T) {
	tests := []struct {
		name, provider, body string
		status               shipment.Status
		sub                  string
		terminal             bool
		reason, occurred     string // "" when the event has none
		service              shipment.ServiceType
	}{
		// K1-K6: update_instant_packages status table (kiriminaja-docs@9f9cc28).
		{"kiriminaja legacy picked_up", "kiriminaja", kjLegacyUpdate("picked_up", ""), shipment.StatusPickedUp, shipment.SubPickedUpByCourier, false, "", "2024-01-10T08:21:28.301662Z", shipment.ServiceInstant},
		{"kiriminaja legacy sent", "kiriminaja", kjLegacyUpdate("sent", ""), shipment.StatusOutForDelivery, shipment.SubOutForDeliveryEnRoute, false, "", "2024-01-10T08:21:28.301662Z", shipment.ServiceInstant},
		{"kiriminaja legacy no_driver is not terminal", "kiriminaja", kjLegacyUpdate("no_driver", ""), shipment.StatusException, shipment.SubExceptionPickupProblem, false, "", "2024-01-10T08:21:28.301662Z", shipment.ServiceInstant},
		{"kiriminaja legacy delivered", "kiriminaja", kjLegacyUpdate("delivered", ""), shipment.StatusDelivered, shipment.SubDeliveredToRecipient, true, "", "2024-01-10T08:21:28.301662Z", shipment.ServiceInstant},
		{"kiriminaja legacy return", "kiriminaja", kjLegacyUpdate("return", `,"rejection_note":"menolak"`), shipment.StatusReturning, shipment.SubReturningToSender, false, "menolak", "2024-01-10T08:21:28.301662Z", shipment.ServiceInstant},
		{"kiriminaja legacy returned", "kiriminaja", kjLegacyUpdate("returned", ""), shipment.StatusReturned, shipment.SubReturnedToSender, true, "", "2024-01-10T08:21:28.301662Z", shipment.ServiceInstant},
		{"kiriminaja legacy status folded", "kiriminaja", kjLegacyUpdate("Picked-Up", ""), shipment.StatusPickedUp, shipment.SubPickedUpByCourier, false, "", "2024-01-10T08:21:28.301662Z", shipment.ServiceInstant},
		{"kiriminaja legacy cancel unchanged", "kiriminaja", kjLegacyUpdate("cancel", ""), shipment.StatusCancelled, shipment.SubCancelledOther, true, "", "2024-01-10T08:21:28.301662Z", shipment.ServiceInstant},
		// K7-K11: the instant_* methods (kiriminaja/docs@5ca2817..82f150f).
		{"kiriminaja instant_allocated_packages", "kiriminaja", kjLegacyMethod("instant_allocated_packages", `,"allocated_at":"2022-07-08 00:00:00"`), shipment.StatusCourierAssigned, shipment.SubCourierAssignedDriverAssigned, false, "", "2022-07-07T17:00:00Z", shipment.ServiceInstant},
		{"kiriminaja instant_validated_packages", "kiriminaja", kjLegacyMethod("instant_validated_packages", `,"shipping_cost":20000,"insurance":true,"insurance_amount":5000`), shipment.StatusAwaitingPickup, shipment.SubAwaitingPickupValidated, false, "", "", shipment.ServiceInstant},
		{"kiriminaja instant_finished_packages", "kiriminaja", kjLegacyMethod("instant_finished_packages", `,"finished_at":"2022-07-08 00:00:00"`), shipment.StatusDelivered, shipment.SubDeliveredToRecipient, true, "", "2022-07-07T17:00:00Z", shipment.ServiceInstant},
		{"kiriminaja instant_canceled_packages", "kiriminaja", kjLegacyMethod("instant_canceled_packages", `,"canceled_at":"2022-07-08 00:00:00","canceled_reason":"Wait too long"`), shipment.StatusCancelled, shipment.SubCancelledOther, true, "Wait too long", "2022-07-07T17:00:00Z", shipment.ServiceInstant},
		{"kiriminaja instant_rejected_packages", "kiriminaja", kjLegacyMethod("instant_rejected_packages", `,"rejected_at":"2022-07-08 00:00:00","rejected_reason":"Destination not found"`), shipment.StatusException, shipment.SubExceptionRejected, false, "Destination not found", "2022-07-07T17:00:00Z", shipment.ServiceInstant},
		{"kiriminaja instant singular method", "kiriminaja", kjLegacyMethod("instant_finished_package", `,"finished_at":"2022-07-08 00:00:00"`), shipment.StatusDelivered, shipment.SubDeliveredToRecipient, true, "", "2022-07-07T17:00:00Z", shipment.ServiceInstant},
		// M1-M3: Komerce's own dashboard (partner.komerce).
		{"komerce Batal", "komerce", `{"order_no":"K-1","cnote":"C-1","status":"Batal"}`, shipment.StatusCancelled, shipment.SubCancelledOther, true, "", "", shipment.ServiceUnknown},
		{"komerce Dipacking", "komerce", `{"order_no":"K-1","cnote":"C-1","status":"Dipacking"}`, shipment.StatusAwaitingPickup, shipment.SubAwaitingPickupOther, false, "", "", shipment.ServiceUnknown},
		{"komerce Rusak", "komerce", `{"order_no":"K-1","cnote":"C-1","status":"RUSAK"}`, shipment.StatusException, shipment.SubExceptionDamaged, false, "", "", shipment.ServiceUnknown},
		// S1: Sendstack drop ASSIGNED (3P).
		{"sendstack drop ASSIGNED", "sendstack", `{"eventType":"order.updated","webhookId":"w","drops":[{"id":"d1","status":"ASSIGNED"}]}`, shipment.StatusCourierAssigned, shipment.SubCourierAssignedDriverAssigned, false, "", "", shipment.ServiceUnknown},
		// D1-D14: Dash internal glossary (PENDING_PICKING_UP has no row).
		{"dash PENDING_PAYMENT", "dash", dashGlossary("PENDING_PAYMENT", ""), shipment.StatusCreated, shipment.SubCreatedOrderPlaced, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash LOGISTIC PENDING_PAYMENT", "dash", dashGlossary("PENDING_PAYMENT", `,"serviceCategory":"LOGISTIC"`), shipment.StatusCreated, shipment.SubCreatedOrderPlaced, false, "", "2025-06-01T10:00:00Z", shipment.ServiceLogistic},
		{"dash ARRIVED_AT_PICKUP_POINT", "dash", dashGlossary("ARRIVED_AT_PICKUP_POINT", ""), shipment.StatusCourierAssigned, shipment.SubCourierAssignedOther, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash ARRIVED_AT_DESTINATION", "dash", dashGlossary("ARRIVED_AT_DESTINATION", ""), shipment.StatusOutForDelivery, shipment.SubOutForDeliveryOther, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash LOGISTIC ARRIVED_AT_DESTINATION", "dash", dashGlossary("ARRIVED_AT_DESTINATION", `,"serviceCategory":"LOGISTIC"`), shipment.StatusOutForDelivery, shipment.SubOutForDeliveryOther, false, "", "2025-06-01T10:00:00Z", shipment.ServiceLogistic},
		{"dash PENDING_RETURN", "dash", dashGlossary("PENDING_RETURN", ""), shipment.StatusReturning, shipment.SubReturningToSender, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash IN_RETURN", "dash", dashGlossary("IN_RETURN", ""), shipment.StatusReturning, shipment.SubReturningToSender, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash ARRIVED_AT_RETURN_POINT", "dash", dashGlossary("ARRIVED_AT_RETURN_POINT", ""), shipment.StatusReturning, shipment.SubReturningOther, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash FAILED_IN_RETURN", "dash", dashGlossary("FAILED_IN_RETURN", ""), shipment.StatusException, shipment.SubExceptionReturnProblem, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash RETURN_TO_HUB", "dash", dashGlossary("RETURN_TO_HUB", ""), shipment.StatusReturning, shipment.SubReturningOther, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash ARRIVED_AT_HUB", "dash", dashGlossary("ARRIVED_AT_HUB", ""), shipment.StatusReturning, shipment.SubReturningOther, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash ON_HOLD", "dash", dashGlossary("ON_HOLD", ""), shipment.StatusException, shipment.SubExceptionOther, false, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash RETURNED", "dash", dashGlossary("RETURNED", ""), shipment.StatusReturned, shipment.SubReturnedToSender, true, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash DISPOSED", "dash", dashGlossary("DISPOSED", ""), shipment.StatusException, shipment.SubExceptionDestroyed, true, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		{"dash EXPIRED", "dash", dashGlossary("EXPIRED", ""), shipment.StatusCancelled, shipment.SubCancelledOther, true, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
		// D15/D16: the public docs win; the glossary does not change these.
		{"dash EXPRESS FAILED stays terminal", "dash", dashGlossary("FAILED", `,"serviceCategory":"EXPRESS","failedAt":"2025-06-01T09:00:00.000Z","failedReason":"x"`), shipment.StatusDeliveryFailed, shipment.SubDeliveryFailedFinal, true, "x", "2025-06-01T09:00:00Z", shipment.ServiceUnknown},
		{"dash CANCELLED unchanged", "dash", dashGlossary("CANCELLED", ""), shipment.StatusCancelled, shipment.SubCancelledByShipper, true, "", "2025-06-01T10:00:00Z", shipment.ServiceUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := normalizeOne(t, tc.provider, tc.body).Event
			d := ev.Data
			assert.Equal(t, tc.status, d.Status)
			assert.Equal(t, tc.sub, d.SubStatus)
			assert.Equal(t, tc.terminal, d.Terminal)
			assert.False(t, d.Inferred, "an explicit row, not an inference")
			assert.Equal(t, tc.reason, d.Reason)
			if tc.occurred == "" {
				assert.Nil(t, d.OccurredAt)
			} else if assert.NotNil(t, d.OccurredAt) {
				assert.Equal(t, tc.occurred, d.OccurredAt.Format(time.RFC3339Nano))
			}
			assert.Equal(t, tc.service, d.ServiceType)
			assert.NoError(t, shipment.ValidateEvent(ev))
		})
	}
}

// TestVocabulary_DashPendingPickingUpStaysUnknown: the one glossary status
// whose meaning is ambiguous (LOGISTIC reassignment) has no row.
func TestVocabulary_DashPendingPickingUpStaysUnknown(t *testing.T) {
	assert.Equal(t, shipment.StatusUnknown, normalizeOne(t, "dash", dashGlossary("PENDING_PICKING_UP", "")).Event.Data.Status)
}

// TestVocabulary_DashReturnFlowAttempt: the return after a failure is not a
// new delivery attempt; a recovery to PENDING_DELIVERY is.
func TestVocabulary_DashReturnFlowAttempt(t *testing.T) {
	for status, want := range map[string]int{"PENDING_RETURN": 1, "RETURNED": 1, "ON_HOLD": 1, "FAILED": 1, "PENDING_DELIVERY": 2} {
		assert.Equal(t, want, normalizeOne(t, "dash", dashGlossary(status, `,"failedCount":1`)).Event.Data.Attempt, status)
	}
}

// TestVocabulary_AllocatedAtInfers: an unknown method whose row carries an
// allocated_at (the legacy Instant stamp) is courier_assigned, inferred; a
// later stamp in the same row wins.
func TestVocabulary_AllocatedAtInfers(t *testing.T) {
	d := normalizeOne(t, "kiriminaja", kjLegacyMethod("driver_found_packages", `,"allocated_at":"2022-07-08 00:00:00"`)).Event.Data
	assert.Equal(t, shipment.StatusCourierAssigned, d.Status)
	assert.True(t, d.Inferred)
	later := normalizeOne(t, "kiriminaja", kjLegacyMethod("driver_found_packages", `,"allocated_at":"2022-07-08 00:00:00","shipped_at":"2022-07-08 00:10:00"`))
	assert.Equal(t, shipment.StatusPickedUp, later.Event.Data.Status)
}

// TestVocabulary_PaymentConfirmedIsNotAShipment (K12): instant_payment_confirmed
// names a payment, not a shipment. The adapter can only emit or dead-letter, so
// it dead-letters as not_a_shipment_event with the reason said, not as an order
// missing its order_id, whether or not the row carries one.
func TestVocabulary_PaymentConfirmedIsNotAShipment(t *testing.T) {
	for _, body := range []string{
		`{"method":"instant_payment_confirmed","data":[{"payment_id":"PID-00001","paid_at":"2022-07-08 00:00:00"}]}`,
		`{"method":"INSTANT_PAYMENT_CONFIRMED","data":[{"payment_id":"PID-00001","order_id":"OID-1","paid_at":"2022-07-08 00:00:00"}]}`,
	} {
		outs, err := normalize(t, "kiriminaja", body)
		assert.Empty(t, outs)
		require.Error(t, err)
		assert.Equal(t, adapter.ReasonNoShipment, adapter.ReasonOf(err))
		assert.Contains(t, err.Error(), "payment confirmation")
	}
	// A payment-less legacy body without an order id still names the order.
	_, err := normalize(t, "kiriminaja", `{"method":"instant_finished_packages","data":[{"finished_at":"2022-07-08 00:00:00"}]}`)
	assert.Equal(t, adapter.ReasonMissingShipmentID, adapter.ReasonOf(err))
}

// TestVocabulary_SourcesCited: every row added from the research cites its
// source in the note (the README's source column), with the confidence marks
// the brief asks for; K13/K16's wrong "plugin only"/"site only" notes are gone.
func TestVocabulary_SourcesCited(t *testing.T) {
	cites := map[string]string{
		"kiriminaja|update_instant_packages": "kiriminaja/kiriminaja-docs@9f9cc28",
		"kiriminaja|instant_":                "kiriminaja/docs@5ca2817",
		"komerce|Batal":                      "Komerce's own dashboard",
		"komerce|Dipacking":                  "Komerce's own dashboard",
		"komerce|Rusak":                      "Komerce's own dashboard",
		"sendstack|ASSIGNED":                 "chiomanwocha/sendstack@3db09ea",
	}
	glossary := map[string]bool{}
	for _, s := range []string{"PENDING_PAYMENT", "ARRIVED_AT_PICKUP_POINT", "ARRIVED_AT_DESTINATION", "PENDING_RETURN", "IN_RETURN",
		"ARRIVED_AT_RETURN_POINT", "FAILED_IN_RETURN", "RETURN_TO_HUB", "ARRIVED_AT_HUB", "ON_HOLD", "RETURNED", "DISPOSED", "EXPIRED"} {
		glossary[s] = true
	}
	seen := map[string]int{}
	for _, r := range adapter.MappingTable() {
		for prefix, src := range cites {
			p, name, _ := strings.Cut(prefix, "|")
			if r.Provider == p && strings.HasPrefix(r.ProviderStatus, name) {
				seen[prefix]++
				assert.Contains(t, r.Note, src, "%+v", r)
			}
		}
		if r.Provider == "dash" && glossary[r.ProviderStatus] {
			seen["dash glossary"]++
			assert.Contains(t, r.Note, "Dash internal glossary (not a published contract)", "%+v", r)
		}
		assert.NotContains(t, r.Note, "plugin only", "%+v", r)
		assert.NotContains(t, r.Note, "site only", "%+v", r)
	}
	assert.Equal(t, 7, seen["kiriminaja|update_instant_packages"], "cancel plus the six statuses")
	assert.Equal(t, 5, seen["kiriminaja|instant_"])
	assert.Equal(t, 1, seen["sendstack|ASSIGNED"])
	assert.Equal(t, 15, seen["dash glossary"], "13 EXPRESS rows, 2 LOGISTIC")
	for _, k := range []string{"komerce|Batal", "komerce|Dipacking", "komerce|Rusak"} {
		assert.Equal(t, 1, seen[k], k)
	}
}

// TestVocabulary_NewLifecyclesConverge applies the new statuses' lifecycles in
// every order through state.Apply: each ends in the same state, its final
// terminal status. Dash's return flow follows an EXPRESS FAILED, which stays
// terminal (public docs), and must still end returned or disposed;
// KiriminAja's no_driver is not terminal, so a re-allocated driver moves on.
func TestVocabulary_NewLifecyclesConverge(t *testing.T) {
	dashAt := func(status, at string) string {
		return fmt.Sprintf(`{"deliveryID":"DE-R","status":%q,"serviceCategory":"EXPRESS","failedCount":1,"updatedAt":%q,"failedAt":%q}`, status, at, at)
	}
	kjAt := func(status, at string) string {
		return fmt.Sprintf(`{"method":"update_instant_packages","data":{"order_id":"NBL2-R","status":%q,"service_name":"instant","event_date":%q}}`, status, at)
	}
	lifecycles := []struct {
		name, provider string
		bodies         []string
		final          string // sub-status
	}{
		{"dash FAILED then return", "dash", []string{
			dashAt("FAILED", "2025-06-01T10:00:00Z"), dashAt("PENDING_RETURN", "2025-06-01T10:05:00Z"),
			dashAt("IN_RETURN", "2025-06-01T10:30:00Z"), dashAt("ARRIVED_AT_RETURN_POINT", "2025-06-01T11:00:00Z"),
			dashAt("RETURNED", "2025-06-01T11:05:00Z"),
		}, shipment.SubReturnedToSender},
		{"dash FAILED, failed return, disposed", "dash", []string{
			dashAt("FAILED", "2025-06-01T10:00:00Z"), dashAt("PENDING_RETURN", "2025-06-01T10:05:00Z"),
			dashAt("FAILED_IN_RETURN", "2025-06-01T11:00:00Z"), dashAt("RETURN_TO_HUB", "2025-06-01T11:10:00Z"),
			dashAt("ARRIVED_AT_HUB", "2025-06-01T12:00:00Z"), dashAt("ON_HOLD", "2025-06-01T12:05:00Z"),
			dashAt("DISPOSED", "2025-06-20T09:00:00Z"),
		}, shipment.SubExceptionDestroyed},
		{"kiriminaja legacy no_driver, re-allocated, returned", "kiriminaja", []string{
			kjAt("no_driver", "2024-01-10T08:00:00Z"), kjAt("picked_up", "2024-01-10T08:30:00Z"),
			kjAt("sent", "2024-01-10T08:45:00Z"), kjAt("return", "2024-01-10T09:10:00Z"),
			kjAt("returned", "2024-01-10T10:00:00Z"),
		}, shipment.SubReturnedToSender},
		{"kiriminaja legacy no_driver, then delivered", "kiriminaja", []string{
			kjAt("no_driver", "2024-01-10T08:00:00Z"), kjAt("picked_up", "2024-01-10T08:30:00Z"),
			kjAt("delivered", "2024-01-10T09:00:00Z"),
		}, shipment.SubDeliveredToRecipient},
	}
	for _, lc := range lifecycles {
		t.Run(lc.name, func(t *testing.T) {
			evs := make([]shipment.Event, len(lc.bodies))
			for i, b := range lc.bodies {
				evs[i] = normalizeOne(t, lc.provider, b).Event
			}
			orders := 0
			permute(len(evs), func(order []int) {
				orders++
				var s *state.Shipment
				for _, i := range order {
					s, _ = state.Apply(s, &evs[i])
				}
				require.Equal(t, lc.final, s.SubStatus(), "order %v", order)
				require.True(t, s.Terminal(), "order %v", order)
			})
			assert.Positive(t, orders)
		})
	}
	// A no_driver alone leaves the shipment open.
	ev := normalizeOne(t, "kiriminaja", kjAt("no_driver", "2024-01-10T08:00:00Z")).Event
	s, adv := state.Apply(nil, &ev)
	assert.True(t, adv)
	assert.False(t, s.Terminal())
}

// permute calls f with every permutation of 0..n-1 (Heap's algorithm).
func permute(n int, f func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k <= 1 {
			f(append([]int(nil), p...))
			return
		}
		for i := 0; i < k; i++ {
			rec(k - 1)
			if k%2 == 0 {
				p[i], p[k-1] = p[k-1], p[i]
			} else {
				p[0], p[k-1] = p[k-1], p[0]
			}
		}
	}
	rec(n)
}
