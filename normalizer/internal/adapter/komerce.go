package adapter

import (
	"github.com/courierhook/pipeline/schemas/shipment"
)

// komercePayload is the Komerce (Komship / RajaOngkir Delivery Order API) push:
// the whole documented contract is order_no, cnote (AWB) and status, an
// Indonesian free string (seed 003). No timestamp, no event id.
type komercePayload struct {
	OrderNo flexString `json:"order_no"`
	Cnote   flexString `json:"cnote"`
	Status  flexString `json:"status"`
}

// komerceRows maps Komerce status strings, matched case-insensitively after
// trimming and folding "_"/"-" to spaces. Komerce publishes only the five seed
// strings ("etc."); the rest come from public integrations (PROVIDERS.md §3.5)
// and are marked so.
var komerceRows = []Mapping{
	{Provider: "komerce", ProviderStatus: "Diajukan", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupRequested},
	{Provider: "komerce", ProviderStatus: "Dijemput", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier},
	{Provider: "komerce", ProviderStatus: "Dikirim", Status: shipment.StatusInTransit, SubStatus: shipment.SubInTransitOnTheWay},
	{Provider: "komerce", ProviderStatus: "Selesai", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true},
	{Provider: "komerce", ProviderStatus: "Dibatalkan", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true},
	{Provider: "komerce", ProviderStatus: "Pending", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedOrderPlaced, Note: "3P (Laravel controller)"},
	{Provider: "komerce", ProviderStatus: "Diterima", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedOther, Note: "3P: read as order accepted (\"processing\")"},
	{Provider: "komerce", ProviderStatus: "Dalam Perjalanan", Status: shipment.StatusInTransit, SubStatus: shipment.SubInTransitOnTheWay, Note: "3P"},
	{Provider: "komerce", ProviderStatus: "Terkirim", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: "3P"},
	{Provider: "komerce", ProviderStatus: "picked up", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier, Note: "3P (sandbox, English)"},
	{Provider: "komerce", ProviderStatus: "ON_PROCESS", Status: shipment.StatusInTransit, SubStatus: shipment.SubInTransitOnTheWay, Note: "3P; also \"on process\""},
	{Provider: "komerce", ProviderStatus: "delivering", Status: shipment.StatusOutForDelivery, SubStatus: shipment.SubOutForDeliveryEnRoute, Note: "3P (sandbox, English)"},
	{Provider: "komerce", ProviderStatus: "DELIVERED", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: "3P (tracking API vocabulary)"},
	{Provider: "komerce", ProviderStatus: "cancelled", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: "3P (sandbox, English)"},
}

// komerceStatus is komerceRows by folded status.
var komerceStatus = index(komerceRows)

// komerce adapts Komerce delivery webhooks. The body is one object; an array of
// such objects (seen from the sandbox, PROVIDERS.md §3.5) yields one event each.
type komerce struct{}

// Normalize implements Adapter.
func (komerce) Normalize(rec RawRecord) ([]Output, error) {
	var items []komercePayload
	if jsonKind(rec.Body) == '[' {
		if err := decodeBody("komerce", rec.Body, &items); err != nil {
			return nil, err
		}
	} else {
		var p komercePayload
		if err := decodeBody("komerce", rec.Body, &p); err != nil {
			return nil, err
		}
		items = append(items, p)
	}
	if len(items) == 0 {
		return nil, Permanent(ReasonNoShipment, "komerce payload holds no order")
	}
	out := make([]Output, 0, len(items))
	for i, p := range items {
		id := p.OrderNo.String()
		if id == "" {
			id = p.Cnote.String()
		}
		if id == "" {
			return nil, Permanent(ReasonMissingShipmentID, "komerce order %d has neither order_no nor cnote", i)
		}
		m, ok := komerceStatus[normKey(p.Status.String())]
		if !ok {
			m = unmapped
		}
		d := shipment.Data{
			ShipmentID:     id,
			OrderID:        p.OrderNo.String(),
			TrackingNumber: p.Cnote.String(),
			ProviderStatus: p.Status.String(),
		}
		m.apply(&d)
		// No event time exists: a status repeats only as a redelivery.
		out = append(out, envelope(rec, "komerce", event{
			DedupKey: dedupKey("komerce", id, p.Cnote.String(), normKey(p.Status.String())),
			Data:     d,
		}))
	}
	return out, nil
}
