package adapter

import (
	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// kiriminajaInstantRows maps the Instant methods (docs/6.webhook/
// 2.event-instant.md, seed 000). Instant packages carry a numeric status
// (106 shipped, 200 finished, 300 canceled by client) that refines the
// sub-status through kiriminajaCodeRows. Any other method on an Instant body
// falls back to the Express method table.
var kiriminajaInstantRows = []Mapping{
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "shipped_packages", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier, Note: "package status 106"},
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "finished_packages", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: "package status 200"},
	{Provider: providers.KiriminAja, Family: "instant", ProviderStatus: "canceled_packages", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: "package status 300 refines to cancelled.by_shipper"},
}

// kiriminajaInstantStatus is kiriminajaInstantRows by folded method.
var kiriminajaInstantStatus = index(kiriminajaInstantRows)

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
// row's stamp for the method; an Instant cancel carries no cancel time (its
// shipped_at is the pickup), so it has none.
func (kiriminajaInstant) normalize(rec RawRecord, b *kiriminajaBody) ([]Output, error) {
	method := kiriminajaMethod(b.Method.String(), kiriminajaInstantStatus)
	if _, ok := kiriminajaInstantStatus[method]; !ok {
		return kiriminajaExpress{}.normalize(rec, b)
	}
	return kiriminajaMapRows(rec, b, method, shipment.ServiceInstant, func(r *kiriminajaRow) (Mapping, []flexString) {
		var times []flexString
		switch method {
		case "shipped packages":
			times = []flexString{r.ShippedAt}
		case "finished packages":
			times = []flexString{r.FinishedAt}
		case "canceled packages":
			times = []flexString{r.CanceledAt}
		}
		return kiriminajaInstantStatus[method], times
	})
}
