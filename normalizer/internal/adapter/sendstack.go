package adapter

import (
	"strings"

	"github.com/courierhook/pipeline/schemas/providers"
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
	// EstimatedPickupWindow and EstimatedDropoffWindow are {date, start, end} (seed 004).
	EstimatedPickupWindow  *sendstackWindow `json:"estimatedPickupWindow"`
	EstimatedDropoffWindow *sendstackWindow `json:"estimatedDropoffWindow"`
	// StatusTimestamps is the drop's status history, [{id, note, status,
	// timestamp}] (empty in seed 004; item shape from a 3P client type).
	StatusTimestamps []sendstackStatusStamp `json:"statusTimestamps"`
}

// sendstackWindow is an estimated pickup or drop-off window.
type sendstackWindow struct {
	Date  flexString `json:"date"`
	Start flexString `json:"start"`
	End   flexString `json:"end"`
}

// window converts to the canonical window (nil when neither end is a time).
func (w *sendstackWindow) window() *shipment.Window {
	if w == nil {
		return nil
	}
	out := shipment.Window{Start: parseTime(w.Start.String()), End: parseTime(w.End.String())}
	if out.Start == nil && out.End == nil {
		return nil
	}
	return &out
}

// sendstackStatusStamp is one entry of a drop's status history.
type sendstackStatusStamp struct {
	Status    flexString `json:"status"`
	Timestamp flexString `json:"timestamp"`
}

// statusTime returns the history time of the drop's current status (the
// latest entry naming it), or "".
func (dr *sendstackDrop) statusTime() flexString {
	for i := len(dr.StatusTimestamps) - 1; i >= 0; i-- {
		st := dr.StatusTimestamps[i]
		if normKey(st.Status.String()) == normKey(dr.Status.String()) && st.Timestamp != "" {
			return st.Timestamp
		}
	}
	return ""
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
	{Provider: providers.Sendstack, Family: "eventType", ProviderStatus: "order.new", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedOrderPlaced, Note: "one event per drop; drop status PENDING in the sample"},
}

// sendstackDropRows maps a drop's own status, which decides whenever it is
// known (whatever the eventType, whose other names are unpublished). Sendstack's
// "Delivery Statuses" guide is not retrievable [NOT FOUND]; the rows are every
// status seen in public material.
var sendstackDropRows = []Mapping{
	{Provider: providers.Sendstack, Family: "drop status", ProviderStatus: "PENDING", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedOrderPlaced, Note: "seed 004 (order.new drop); docs.sendstackhq.com fetch-deliveries, update-delivery-details samples"},
	{Provider: providers.Sendstack, Family: "drop status", ProviderStatus: "DELIVERED", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: "3P: chiomanwocha/sendstack utils/useColorReducer.js (delivered)"},
	{Provider: providers.Sendstack, Family: "drop status", ProviderStatus: "CANCELLED", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: "3P: chiomanwocha/sendstack utils/useColorReducer.js (cancelled); drops are cancelled through POST /drops/cancel"},
	{Provider: providers.Sendstack, Family: "drop status", ProviderStatus: "CANCELED", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: "US spelling of CANCELLED"},
	{Provider: providers.Sendstack, Family: "drop status", ProviderStatus: "ASSIGNED", Status: shipment.StatusCourierAssigned, SubStatus: shipment.SubCourierAssignedDriverAssigned, Note: "3P: chiomanwocha/sendstack@3db09ea hooks/components/useDeliveryDetailsModalLogic.js (a drop ASSIGNED to a rider can no longer be cancelled, like CANCELLED)"},
}

// sendstackStatus is sendstackRows by folded eventType; sendstackDropStatus
// sendstackDropRows by folded drop status.
var (
	sendstackStatus     = index(sendstackRows)
	sendstackDropStatus = index(sendstackDropRows)
)

// sendstack adapts Sendstack delivery webhooks.
type sendstack struct{}

// Normalize implements Adapter. A drop without id or trackingId dead-letters
// alone (Output.Dead, "drop[i]") while the other drops map.
func (sendstack) Normalize(rec RawRecord) ([]Output, error) {
	var p sendstackPayload
	dropped, err := decodeBody(providers.Sendstack, rec.Body, &p)
	if err != nil {
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
	em, eventKnown := sendstackStatus[normKey(p.EventType.String())]
	var good []Output
	var bad []*Error
	for i := range drops {
		dr := &drops[i]
		what := orderLabel("drop", i)
		rawID := firstNonEmpty(dr.ID.String(), dr.TrackingID.String())
		if rawID == "" {
			bad = append(bad, Permanent(ReasonMissingShipmentID, "sendstack %s has no id or trackingId", what))
			continue
		}
		id, idErr := shipmentID(providers.Sendstack, what, rawID)
		if idErr != nil {
			bad = append(bad, idErr)
			continue
		}
		m, ok := sendstackDropStatus[normKey(dr.Status.String())]
		if !ok {
			m, ok = em, eventKnown
		}
		if !ok {
			m = unmapped
		}
		occurred, occurredRaw := firstTime(dr.statusTime(), p.UpdatedAt, p.Timestamp, p.CreatedAt)
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
			PickupWindow:    dr.EstimatedPickupWindow.window(),
			DeliveryWindow:  dr.EstimatedDropoffWindow.window(),
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
		o := envelope(rec, providers.Sendstack, event{
			DedupKey:   sendstackKey(&p, id, dr.Status.String(), occurredRaw, len(drops)),
			Repeatable: p.WebhookID == "" && occurredRaw == "",
			Data:       d,
		})
		if len(good) == 0 {
			o.Dropped = dropped
		}
		good = append(good, o)
	}
	return collect(good, bad)
}

// sendstackKey is the webhookId (Sendstack's event id, on every body), plus
// the drop id when one body yields several events; without a webhookId, the
// provider event identity: drop id, eventType, drop status and time.
func sendstackKey(p *sendstackPayload, dropID, dropStatus, occurredRaw string, n int) string {
	if p.WebhookID != "" {
		if n == 1 {
			return dedupKey(providers.Sendstack, p.WebhookID.String())
		}
		return dedupKey(providers.Sendstack, p.WebhookID.String(), dropID)
	}
	return dedupKey(providers.Sendstack, dropID, p.EventType.String(), normKey(dropStatus), occurredRaw)
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
