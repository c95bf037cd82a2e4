package adapter

import (
	"strings"

	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// kiriminajaExpressRows maps KiriminAja methods (docs/6.webhook/1.event.md,
// seed 002, PROVIDERS.md §1.4). returned_packages comes twice for one order:
// flagged for return (returned_at null), then back with the sender. The legacy
// Instant update_instant_packages maps by its data.status, one row per status
// of its published table.
var kiriminajaExpressRows = []Mapping{
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "processed_packages", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupAWBAssigned, Note: "short and complete form"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "validated_packages", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupValidated, Note: "updates shipping_cost; documented in kiriminaja/docs@8884ce8..82f150f content/1.docs/8.webhook/0.event.md (2023-2024) and the official plugin"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "shipped_packages", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "finished_packages", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "returned_packages", When: "returned_at null", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningToSender},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "returned_packages", When: "returned_at set", Status: shipment.StatusReturned, SubStatus: shipment.SubReturnedToSender, Terminal: true},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "return_finished_packages", Status: shipment.StatusReturned, SubStatus: shipment.SubReturnedToSender, Terminal: true, Note: "deprecated"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "canceled_packages", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledByCarrier, Terminal: true, Note: "by the system or flagged by the 3PL"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "problem_packages", Status: shipment.StatusException, SubStatus: shipment.SubExceptionProblemReported, Note: "not terminal; re-sent when the reason changes"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "problem_packages", When: "reason: recipient refused", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedRecipientRefused, Note: "failed attempt named by the reason (menolak, refused, ...); not terminal. 1.event.md §6"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "problem_packages", When: "reason: address problem", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedAddressProblem, Note: "reason names the address (alamat, address, misroute); not terminal. 1.event.md §6"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "problem_packages", When: "reason: recipient unavailable", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedRecipientUnavailable, Note: "reason: penerima tidak ada, rumah kosong, not at home, ...; not terminal. 1.event.md §6"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "problem_packages", When: "reason: failed attempt", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedRedeliveryScheduled, Note: "reason: antar ulang, gagal kirim, undelivered, ...; not terminal"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "problem_packages", When: "code 152/301/310/311", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedOther, Note: "a failed-attempt package code decides (status-mapping.md); sub-status from the code row"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "rejected_packages", Status: shipment.StatusException, SubStatus: shipment.SubExceptionRejected, Note: "{order_id, rejected_at, reason}; documented in kiriminaja/docs@8884ce8..82f150f content/1.docs/8.webhook/0.event.md (2023-2024) and the official plugin"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "update_instant_packages", When: "status cancel", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: kiriminajaLegacyInstantSource + ": \"cancelled via kiriminaja platform (your request)\""},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "update_instant_packages", When: "status picked_up", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier, Note: kiriminajaLegacyInstantSource + ": \"carried out by driver\""},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "update_instant_packages", When: "status sent", Status: shipment.StatusOutForDelivery, SubStatus: shipment.SubOutForDeliveryEnRoute, Note: kiriminajaLegacyInstantSource + ": \"still on delivery process to your customer\" (an Instant driver goes straight to the recipient)"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "update_instant_packages", When: "status no_driver", Status: shipment.StatusException, SubStatus: shipment.SubExceptionPickupProblem, Note: kiriminajaLegacyInstantSource + ": \"driver allocation doesn't success\"; not terminal: no source says the order is cancelled"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "update_instant_packages", When: "status delivered", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: kiriminajaLegacyInstantSource + ": \"successfully delivered\""},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "update_instant_packages", When: "status return", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningToSender, Note: kiriminajaLegacyInstantSource + ": \"the customer is rejecting your package\"; returned follows"},
	{Provider: providers.KiriminAja, Family: "express", ProviderStatus: "update_instant_packages", When: "status returned", Status: shipment.StatusReturned, SubStatus: shipment.SubReturnedToSender, Terminal: true, Note: kiriminajaLegacyInstantSource + ": \"successfully return to shipper address\""},
}

// kiriminajaLegacyInstantSource is where the update_instant_packages status
// strings are published: the "Status Code" table, added 2024-07-17 and still
// there at the repo's HEAD (2025-02), though from 2025-02 the sample under
// that heading uses the generic method format.
const kiriminajaLegacyInstantSource = "legacy Instant; kiriminaja/kiriminaja-docs@9f9cc28..92799a7 docs/6.webhook/1.event.md (Status Code)"

// kiriminajaExpressStatus is kiriminajaExpressRows by folded method (and condition).
var kiriminajaExpressStatus = index(kiriminajaExpressRows)

// kiriminajaExpressTimes names, per folded method, the row fields holding the
// event's own time, best first. In the complete format "date" is the order's
// creation, so it counts only where it is the event date (legacy rows).
var kiriminajaExpressTimes = map[string]func(r *kiriminajaRow) []flexString{
	"processed packages":       func(r *kiriminajaRow) []flexString { return []flexString{r.Date} },
	"validated packages":       func(r *kiriminajaRow) []flexString { return []flexString{r.Date} },
	"shipped packages":         func(r *kiriminajaRow) []flexString { return []flexString{r.ShippedAt} },
	"finished packages":        func(r *kiriminajaRow) []flexString { return []flexString{r.FinishedAt} },
	"returned packages":        func(r *kiriminajaRow) []flexString { return []flexString{r.ReturnedAt} },
	"return finished packages": func(r *kiriminajaRow) []flexString { return []flexString{r.Date, r.ReturnedAt} },
	"canceled packages":        func(r *kiriminajaRow) []flexString { return []flexString{r.CanceledAt} },
	"problem packages":         func(r *kiriminajaRow) []flexString { return []flexString{r.Date} },
	"rejected packages":        func(r *kiriminajaRow) []flexString { return []flexString{r.RejectedAt} },
	"update instant packages": func(r *kiriminajaRow) []flexString {
		return []flexString{r.EventDate, r.CancelDate, r.RejectedDate}
	},
}

// kiriminajaExpress adapts KiriminAja Express pushes (every method, short and
// complete formats, legacy update_instant_packages).
type kiriminajaExpress struct{}

// Normalize implements Adapter.
func (kiriminajaExpress) Normalize(rec RawRecord) ([]Output, error) {
	b, err := decodeKiriminaja(rec.Body)
	if err != nil {
		return nil, err
	}
	return kiriminajaExpress{}.normalize(rec, b)
}

// normalize maps every row of a decoded body.
func (kiriminajaExpress) normalize(rec RawRecord, b *kiriminajaBody) ([]Output, error) {
	method := kiriminajaMethod(b.Method.String(), kiriminajaExpressStatus)
	return kiriminajaMapRows(rec, b, method, shipment.ServiceExpress, func(r *kiriminajaRow) (Mapping, []flexString) {
		m, ok := kiriminajaExpressStatus[method+"|"+kiriminajaCondition(method, r)]
		if !ok {
			m, ok = kiriminajaExpressStatus[method]
		}
		if !ok {
			m = unmapped
		}
		var times []flexString
		if f := kiriminajaExpressTimes[method]; f != nil {
			times = f(r)
		}
		return m, times
	})
}

// kiriminajaCondition returns the When key of a row for methods whose mapping
// depends on the row.
func kiriminajaCondition(method string, r *kiriminajaRow) string {
	switch method {
	case "returned packages":
		if r.ReturnedAt == "" {
			return "returned_at null"
		}
		return "returned_at set"
	case "update instant packages":
		// The documented statuses are snake_case (picked_up, no_driver):
		// case, spaces and hyphens fold to that form.
		return "status " + strings.ReplaceAll(normKey(r.Status.String()), " ", "_")
	}
	return ""
}
