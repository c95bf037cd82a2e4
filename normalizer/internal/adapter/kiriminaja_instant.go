package adapter

import (
	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// kiriminajaInstantRows maps the Instant methods (docs/6.webhook/
// 2.event-instant.md, seed 000). Instant packages carry a numeric status
// (106 shipped, 200 finished, 300 canceled by client) that refines the
// sub-status through kiriminajaCodeRows. Any other method on an Instant body
// falls back to the Express method table. The instant_* methods are the
// Instant scheme KiriminAja published from 2023-05 until 2024-02 (bodies
// {method, data: [{order_id, <stamp>, ...}]}, no packages[]); their names
// alone make a body Instant (see isInstant).
var kiriminajaInstantRows = []Mapping{
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "shipped_packages", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier, Note: "package status 106"},
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "finished_packages", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: "package status 200"},
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "canceled_packages", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: "package status 300 refines to cancelled.by_shipper"},
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "instant_validated_packages", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupValidated, Note: kiriminajaInstantLegacySource + "; {order_id, shipping_cost, insurance, insurance_amount}, no time"},
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "instant_allocated_packages", Status: shipment.StatusCourierAssigned, SubStatus: shipment.SubCourierAssignedDriverAssigned, Note: kiriminajaInstantLegacySource + "; time allocated_at"},
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "instant_finished_packages", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: kiriminajaInstantLegacySource + "; time finished_at"},
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "instant_canceled_packages", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: kiriminajaInstantLegacySource + "; time canceled_at, reason canceled_reason (who cancelled is not said)"},
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "instant_rejected_packages", Status: shipment.StatusException, SubStatus: shipment.SubExceptionRejected, Note: kiriminajaInstantLegacySource + "; time rejected_at, reason rejected_reason; not terminal, like rejected_packages"},
}

// kiriminajaInstantLegacySource is where the instant_* methods were published:
// the Instant event page, added @5ca2817 (2023-05-09), last at @82f150f,
// removed @8d6c58b (2024-02-15). It also documents instant_payment_confirmed,
// which is not about a shipment (see kiriminajaNotShipment).
const kiriminajaInstantLegacySource = "legacy method; kiriminaja/docs@5ca2817..82f150f content/1.docs/8.webhook/1.event-instant.md"

// kiriminajaInstantStatus is kiriminajaInstantRows by folded method.
var kiriminajaInstantStatus = index(kiriminajaInstantRows)

// kiriminajaInstantTimes names, per folded method, the row fields holding the
// event's own time, best first. An Instant cancel (canceled_packages) carries
// no cancel time in the current format (its shipped_at is the pickup), so it
// has none there; the legacy instant_* rows carry their stamp.
var kiriminajaInstantTimes = map[string]func(r *kiriminajaRow) []flexString{
	"shipped packages":           func(r *kiriminajaRow) []flexString { return []flexString{r.ShippedAt} },
	"finished packages":          func(r *kiriminajaRow) []flexString { return []flexString{r.FinishedAt} },
	"canceled packages":          func(r *kiriminajaRow) []flexString { return []flexString{r.CanceledAt} },
	"instant allocated packages": func(r *kiriminajaRow) []flexString { return []flexString{r.AllocatedAt} },
	"instant finished packages":  func(r *kiriminajaRow) []flexString { return []flexString{r.FinishedAt} },
	"instant canceled packages":  func(r *kiriminajaRow) []flexString { return []flexString{r.CanceledAt} },
	"instant rejected packages":  func(r *kiriminajaRow) []flexString { return []flexString{r.RejectedAt} },
}

// kiriminajaInstant adapts KiriminAja Instant pushes (GoSend, Grab, ...).
type kiriminajaInstant struct{}

// Normalize implements Adapter.
func (kiriminajaInstant) Normalize(rec RawRecord) ([]Output, error) {
	b, err := decodeKiriminaja(rec.Body)
	if err != nil {
		return nil, err
	}
	return kiriminajaInstant{}.normalize(rec, b)
}

// normalize maps every row of a decoded Instant body. The event time is the
// row's stamp for the method (kiriminajaInstantTimes).
func (kiriminajaInstant) normalize(rec RawRecord, b *kiriminajaBody) ([]Output, error) {
	method := kiriminajaMethod(b.Method.String(), kiriminajaInstantStatus)
	if _, ok := kiriminajaInstantStatus[method]; !ok {
		return kiriminajaExpress{}.normalize(rec, b)
	}
	return kiriminajaMapRows(rec, b, method, shipment.ServiceInstant, func(r *kiriminajaRow) (Mapping, []flexString) {
		var times []flexString
		if f := kiriminajaInstantTimes[method]; f != nil {
			times = f(r)
		}
		return kiriminajaInstantStatus[method], times
	})
}
