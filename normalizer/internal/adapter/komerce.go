package adapter

import (
	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// komercePayload is the Komerce (Komship / RajaOngkir Delivery Order API) push:
// the whole documented contract is order_no, cnote (AWB) and status, an
// Indonesian free string (seed 003). No timestamp, no event id.
type komercePayload struct {
	OrderNo flexString `json:"order_no"`
	Cnote   flexString `json:"cnote"`
	Status  flexString `json:"status"`
	// AWB and StatusPengiriman are the names a public handler reads for the
	// sandbox's pushes (glamourwax supabase/functions/komerce-webhook-handler,
	// PROVIDERS.md §3.5) [3P]: read when cnote / status are absent.
	AWB              flexString `json:"awb"`
	StatusPengiriman flexString `json:"status_pengiriman"`
}

// komerceRows maps Komerce status strings, matched case-insensitively after
// trimming and folding "_"/"-" to spaces. Komerce publishes only the five seed
// strings ("etc."); the rest come from public integrations (PROVIDERS.md §3.5)
// or from Komerce's own Komship dashboard (komerceDashboard), and are marked so.
var komerceRows = []Mapping{
	{Provider: providers.Komerce, ProviderStatus: "Diajukan", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupRequested},
	{Provider: providers.Komerce, ProviderStatus: "Dijemput", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier},
	{Provider: providers.Komerce, ProviderStatus: "Dikirim", Status: shipment.StatusInTransit, SubStatus: shipment.SubInTransitOnTheWay},
	{Provider: providers.Komerce, ProviderStatus: "Selesai", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true},
	{Provider: providers.Komerce, ProviderStatus: "Dibatalkan", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true},
	{Provider: providers.Komerce, ProviderStatus: "Pending", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedOrderPlaced, Note: "3P (Laravel controller)"},
	{Provider: providers.Komerce, ProviderStatus: "Diterima", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: "\"diterima\" = received (by the recipient) in Indonesian courier tracking; the \"processing\" reading was one unidentified 3P controller (PROVIDERS.md §3.5); no Komerce doc defines it"},
	{Provider: providers.Komerce, ProviderStatus: "Dikemas", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupOther, Note: "packed by the seller, before pickup (marketplace order vocabulary); not in Komerce docs"},
	{Provider: providers.Komerce, ProviderStatus: "Gagal Kirim", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedRecoverable, Note: "failed delivery attempt; Komerce retries (Dikirim again), so not terminal. Issue 11 sequence; not in Komerce docs"},
	{Provider: providers.Komerce, ProviderStatus: "Retur", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningToSender, Note: "return to sender under way; not in Komerce docs"},
	{Provider: providers.Komerce, ProviderStatus: "Dikembalikan", Status: shipment.StatusReturned, SubStatus: shipment.SubReturnedToSender, Terminal: true, Note: "returned to the sender; not in Komerce docs"},
	{Provider: providers.Komerce, ProviderStatus: "Hilang", Status: shipment.StatusException, SubStatus: shipment.SubExceptionLost, Note: "lost; not in Komerce docs"},
	{Provider: providers.Komerce, ProviderStatus: "Dalam Perjalanan", Status: shipment.StatusInTransit, SubStatus: shipment.SubInTransitOnTheWay, Note: "3P"},
	{Provider: providers.Komerce, ProviderStatus: "Terkirim", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: "3P"},
	{Provider: providers.Komerce, ProviderStatus: "picked up", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier, Note: "3P (sandbox, English)"},
	{Provider: providers.Komerce, ProviderStatus: "ON_PROCESS", Status: shipment.StatusInTransit, SubStatus: shipment.SubInTransitOnTheWay, Note: "3P; also \"on process\""},
	{Provider: providers.Komerce, ProviderStatus: "delivering", Status: shipment.StatusOutForDelivery, SubStatus: shipment.SubOutForDeliveryEnRoute, Note: "3P (sandbox, English)"},
	{Provider: providers.Komerce, ProviderStatus: "DELIVERED", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: "3P (tracking API vocabulary)"},
	{Provider: providers.Komerce, ProviderStatus: "cancelled", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: "3P (sandbox, English)"},
	{Provider: providers.Komerce, ProviderStatus: "Batal", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: komerceDashboard + ": order_status 4, shown as \"Dibatalkan\" (Komerce/partner.komerce@a2e1e59 src/views/pages/komship/order/DataOrder/DetailOrder.vue)"},
	{Provider: providers.Komerce, ProviderStatus: "Dipacking", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupOther, Note: komerceDashboard + ": being packed, before pickup; still cancellable (Komerce/partner.komerce@a2e1e59 src/views/pages/komship/order/DataOrder/DetailOrder.vue)"},
	{Provider: providers.Komerce, ProviderStatus: "Rusak", Status: shipment.StatusException, SubStatus: shipment.SubExceptionDamaged, Note: komerceDashboard + ": damaged, \"Ganti Rugi Paket Rusak\" (e-gconsulting/partner.komerce@5b8473b src/views/pages/komship/keuangan/DetailSaldo.vue); not terminal, like Hilang"},
}

// komerceDashboard marks the rows read from Komerce's own Komship partner
// dashboard: order_status values of the API it calls, Komerce code but not
// the webhook docs, so not confirmed as webhook status values.
const komerceDashboard = "Komerce's own dashboard (Komship partner app), not webhook docs"

// komerceStatus is komerceRows by folded status.
var komerceStatus = index(komerceRows)

// komerce adapts Komerce delivery webhooks. The body is one object; an array of
// such objects (seen from the sandbox, PROVIDERS.md §3.5) yields one event each.
type komerce struct{}

// Normalize implements Adapter. An item of an array body without order_no or
// cnote dead-letters alone (Output.Dead, "order[i]") while the others map.
func (komerce) Normalize(rec RawRecord) ([]Output, error) {
	var items []komercePayload
	var dropped []string
	var err error
	if jsonKind(rec.Body) == '[' {
		dropped, err = decodeBody(providers.Komerce, rec.Body, &items)
	} else {
		var p komercePayload
		dropped, err = decodeBody(providers.Komerce, rec.Body, &p)
		items = append(items, p)
	}
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, Permanent(ReasonNoShipment, "komerce payload holds no order")
	}
	var good []Output
	var bad []*Error
	for i, p := range items {
		cnote := firstNonEmpty(p.Cnote.String(), p.AWB.String())
		status := firstNonEmpty(p.Status.String(), p.StatusPengiriman.String())
		rawID := firstNonEmpty(p.OrderNo.String(), cnote)
		what := orderLabel("order", i)
		if rawID == "" {
			bad = append(bad, Permanent(ReasonMissingShipmentID, "komerce %s has neither order_no nor cnote", what))
			continue
		}
		id, idErr := shipmentID(providers.Komerce, what, rawID)
		if idErr != nil {
			bad = append(bad, idErr)
			continue
		}
		m, ok := komerceStatus[normKey(status)]
		if !ok {
			m = unmapped
		}
		d := shipment.Data{
			ShipmentID:     id,
			OrderID:        p.OrderNo.String(),
			TrackingNumber: cnote,
			ProviderStatus: status,
		}
		m.apply(&d)
		// No event time, sequence or event id exists: a repeat of a status
		// (Dikirim, Gagal Kirim, Dikirim) has the bytes of a re-delivery, so
		// the key is Repeatable and the consumer qualifies it.
		o := envelope(rec, providers.Komerce, event{
			DedupKey:   dedupKey(providers.Komerce, id, cnote, normKey(status)),
			Repeatable: true,
			Data:       d,
		})
		if len(good) == 0 {
			o.Dropped = dropped
		}
		good = append(good, o)
	}
	return collect(good, bad)
}
