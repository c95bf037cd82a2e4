package adapter

import (
	"strings"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// sendstackPayload is a Sendstack delivery webhook (seed 004). Only the
// order.new body is documented; other eventTypes ("Updated delivery status",
// "Pickup attempt", ...) exist but their names and bodies are unknown
// (PROVIDERS.md §4.4), so they are read through the same fields plus the
// drop references the API uses (dropId, dropIds).
type sendstackPayload struct {
	EventType   flexString      `json:"eventType"`
	WebhookID   flexString      `json:"webhookId"`
	ID          flexString      `json:"id"`
	BatchID     flexString      `json:"batchId"`
	TrackingURL flexString      `json:"trackingUrl"`
	TotalAmount flexDecimal     `json:"totalAmount"`
	Pickup      *sendstackPlace `json:"pickup"`
	Drops       []sendstackDrop `json:"drops"`
	CreatedAt   flexString      `json:"createdAt"`
	UpdatedAt   flexString      `json:"updatedAt"`
	Timestamp   flexString      `json:"timestamp"`
	DropID      flexString      `json:"dropId"`
	DropIDs     []flexString    `json:"dropIds"`
	TrackingID  flexString      `json:"trackingId"`
	Status      flexString      `json:"status"`
}

// sendstackPlace is the pickup block.
type sendstackPlace struct {
	Address      flexString `json:"address"`
	PickupName   flexString `json:"pickupName"`
	PickupNumber flexString `json:"pickupNumber"`
	LGA          flexString `json:"lga"`
	State        flexString `json:"state"`
}

// sendstackDrop is one drop (delivery) of a batch: the shipment.
type sendstackDrop struct {
	ID              flexString   `json:"id"`
	Status          flexString   `json:"status"`
	TrackingID      flexString   `json:"trackingId"`
	ExternalOrderID flexString   `json:"externalOrderId"`
	TrackingURL     flexString   `json:"trackingUrl"`
	BatchID         flexString   `json:"batchId"`
	Address         flexString   `json:"address"`
	RecipientName   flexString   `json:"recipientName"`
	RecipientNumber flexString   `json:"recipientNumber"`
	State           flexString   `json:"state"`
	LGA             flexString   `json:"lga"`
	Amount          flexDecimal  `json:"amount"`
	AssignedTo      *sendstackTo `json:"assignedTo"`
}

// sendstackTo is the rider assignment (shape from a third-party client; read when present).
type sendstackTo struct {
	Rider struct {
		Name  flexString `json:"name"`
		Phone flexString `json:"phone"`
	} `json:"rider"`
	DeliveryCompanyName flexString `json:"deliveryCompanyName"`
}

// sendstackRows maps Sendstack eventTypes. order.new is the only documented
// one; any other eventType that names a shipment is kept with status unknown
// (issue 4: "kept as unknown, not rejected") and counted by the normalizer.
var sendstackRows = []Mapping{
	{Provider: "sendstack", Family: "eventType", ProviderStatus: "order.new", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedOrderPlaced, Note: "one event per drop; drop status PENDING in the sample"},
}

// sendstackStatus is sendstackRows by folded eventType.
var sendstackStatus = index(sendstackRows)

// sendstack adapts Sendstack delivery webhooks.
type sendstack struct{}

// Normalize implements Adapter.
func (sendstack) Normalize(rec RawRecord) ([]Output, error) {
	var p sendstackPayload
	if err := decodeBody("sendstack", rec.Body, &p); err != nil {
		return nil, err
	}
	drops := p.Drops
	if len(drops) == 0 {
		for _, id := range append([]flexString{p.DropID}, p.DropIDs...) {
			if id != "" {
				drops = append(drops, sendstackDrop{ID: id, TrackingID: p.TrackingID, Status: p.Status})
			}
		}
	}
	if len(drops) == 0 && p.TrackingID != "" {
		drops = []sendstackDrop{{TrackingID: p.TrackingID, Status: p.Status}}
	}
	if len(drops) == 0 {
		// Live-tracking telemetry (overspeed, geofence, ...) names a device,
		// not a shipment.
		return nil, Permanent(ReasonNoShipment, "sendstack %q payload names no drop", p.EventType.String())
	}
	m, ok := sendstackStatus[normKey(p.EventType.String())]
	if !ok {
		m = unmapped
	}
	occurred, occurredRaw := firstTime(p.UpdatedAt, p.Timestamp, p.CreatedAt)
	out := make([]Output, 0, len(drops))
	for i := range drops {
		dr := &drops[i]
		id := firstNonEmpty(dr.ID.String(), dr.TrackingID.String())
		if id == "" {
			return nil, Permanent(ReasonMissingShipmentID, "sendstack drop %d has no id or trackingId", i)
		}
		d := shipment.Data{
			ProviderEvent:   p.EventType.String(),
			ShipmentID:      id,
			OrderID:         firstNonEmpty(dr.BatchID.String(), p.BatchID.String()),
			MerchantOrderID: dr.ExternalOrderID.String(),
			TrackingNumber:  dr.TrackingID.String(),
			ProviderStatus:  firstNonEmpty(dr.Status.String(), p.EventType.String()),
			TrackingURL:     firstNonEmpty(dr.TrackingURL.String(), p.TrackingURL.String()),
			Origin:          p.Pickup.place(),
			Destination:     dr.place(),
			OccurredAt:      occurred,
			OccurredAtRaw:   occurredRaw,
		}
		m.apply(&d)
		if a := firstNonEmpty(string(dr.Amount), sendstackBatchAmount(&p, len(drops))); a != "" {
			d.Amounts = &shipment.Amounts{Currency: "NGN", ShippingCost: a}
		}
		if to := dr.AssignedTo; to != nil {
			c := shipment.Courier{Company: to.DeliveryCompanyName.String(), Name: to.Rider.Name.String(), Phone: to.Rider.Phone.String()}
			if c != (shipment.Courier{}) {
				d.Courier = &c
			}
		}
		out = append(out, envelope(rec, "sendstack", event{DedupKey: sendstackKey(&p, id, occurredRaw, len(drops)), Data: d}))
	}
	return out, nil
}

// sendstackKey is the webhookId, plus the drop id when one body yields
// several events; without a webhookId, the provider event identity.
func sendstackKey(p *sendstackPayload, dropID, occurredRaw string, n int) string {
	if p.WebhookID != "" {
		if n == 1 {
			return dedupKey("sendstack", p.WebhookID.String())
		}
		return dedupKey("sendstack", p.WebhookID.String(), dropID)
	}
	return dedupKey("sendstack", dropID, p.EventType.String(), occurredRaw)
}

// sendstackBatchAmount is the batch total when the batch has a single drop.
func sendstackBatchAmount(p *sendstackPayload, drops int) string {
	if drops == 1 {
		return string(p.TotalAmount)
	}
	return ""
}

// place converts the pickup block (nil when empty).
func (pl *sendstackPlace) place() *shipment.Place {
	if pl == nil {
		return nil
	}
	out := shipment.Place{Name: pl.PickupName.String(), Phone: pl.PickupNumber.String(), Address: pl.Address.String(), City: sendstackCity(pl.LGA, pl.State)}
	if out == (shipment.Place{}) {
		return nil
	}
	return &out
}

// place converts a drop's destination (nil when empty).
func (dr *sendstackDrop) place() *shipment.Place {
	out := shipment.Place{Name: dr.RecipientName.String(), Phone: dr.RecipientNumber.String(), Address: dr.Address.String(), City: sendstackCity(dr.LGA, dr.State)}
	if out == (shipment.Place{}) {
		return nil
	}
	return &out
}

// sendstackCity joins the local government area and the state ("Costain, Lagos").
func sendstackCity(lga, state flexString) string {
	var parts []string
	for _, s := range []string{lga.String(), state.String()} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}
