package adapter

import (
	"encoding/json"
	"strings"

	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// kiriminajaBody is the KiriminAja push envelope shared by Express and Instant:
// a method, data (an array of per-order rows; one object for the legacy
// update_instant_packages), and in the complete format payment and packages.
type kiriminajaBody struct {
	Method   flexString          `json:"method"`
	Data     json.RawMessage     `json:"data"`
	Payment  *kiriminajaPayment  `json:"payment"`
	Packages []kiriminajaPackage `json:"packages"`
	// rows is Data decoded (or Packages, when data is absent); rowDropped[i]
	// the fields dropped from rows[i]; dropped those dropped from the envelope.
	rows       []kiriminajaRow
	rowDropped [][]string
	dropped    []string
}

// kiriminajaRow is one order in data: every field any method sends, the legacy
// update_instant_packages object included. Absent fields stay empty.
type kiriminajaRow struct {
	OrderID      flexString  `json:"order_id"`
	AWB          flexString  `json:"awb"`
	SortingCode  flexString  `json:"sorting_code"`
	Date         flexString  `json:"date"`
	ShippedAt    flexString  `json:"shipped_at"`
	FinishedAt   flexString  `json:"finished_at"`
	ReturnedAt   flexString  `json:"returned_at"`
	RejectedAt   flexString  `json:"rejected_at"`
	CanceledAt   flexString  `json:"canceled_at"`
	Reason       flexString  `json:"reason"`
	ShippingCost flexDecimal `json:"shipping_cost"`

	// Legacy instant_* method fields (kiriminajaInstantLegacySource).
	AllocatedAt    flexString `json:"allocated_at"`
	CanceledReason flexString `json:"canceled_reason"`
	RejectedReason flexString `json:"rejected_reason"`

	// update_instant_packages (legacy Instant) fields.
	Status        flexString        `json:"status"`
	Driver        *kiriminajaDriver `json:"driver"`
	ShippingPrice flexDecimal       `json:"shipping_price"`
	LiveTrackURL  flexString        `json:"live_track_url"`
	Service       flexString        `json:"service"`
	ServiceName   flexString        `json:"service_name"`
	EventDate     flexString        `json:"event_date"`
	CancelDate    flexString        `json:"cancel_date"`
	CancelReason  flexString        `json:"cancel_reason"`
	RejectedDate  flexString        `json:"rejected_date"`
	RejectionNote flexString        `json:"rejection_note"`
}

type kiriminajaPayment struct {
	PaymentID  flexString  `json:"payment_id"`
	Amount     flexDecimal `json:"amount"`
	StatusCode flexString  `json:"status_code"`
	PayTime    flexString  `json:"pay_time"`
}

type kiriminajaPackage struct {
	AWB             flexString        `json:"awb"`
	OrderID         flexString        `json:"order_id"`
	Service         flexString        `json:"service"`
	ServiceType     flexString        `json:"service_type"`
	Status          flexString        `json:"status"`
	LiveTrackingURL flexString        `json:"live_tracking_url"`
	Origin          *kiriminajaPlace  `json:"origin"`
	Destination     *kiriminajaPlace  `json:"destination"`
	Driver          *kiriminajaDriver `json:"driver"`
}

type kiriminajaPlace struct {
	Name      flexString `json:"name"`
	Address   flexString `json:"address"`
	Phone     flexString `json:"phone"`
	Latitude  flexFloat  `json:"latitude"`
	Longitude flexFloat  `json:"longitude"`
}

type kiriminajaDriver struct {
	Name  flexString `json:"name"`
	Phone flexString `json:"phone"`
	Image flexString `json:"image"`
}

// kiriminajaCodeRows maps packages[].status codes (docs/2.important-notes/
// 0.status-mapping.md, PROVIDERS.md §1.6). The method decides the canonical
// status; a code refines the sub-status when it agrees with the method's status,
// and decides alone only when the method is unknown. The two official code
// tables conflict (the Express webhook page says 200 = shipped, 300 = delivered,
// 900 = canceled), which is why the method comes first.
var kiriminajaCodeRows = []Mapping{
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "100", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedOrderPlaced, Note: "new package created by client"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "101", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupRequested, Note: "pickup requested"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "102", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupValidated, Note: "validated by pickup officer"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "103", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier, Note: "picked up by KiriminAja driver"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "104", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpAtFacility, Note: "received at KiriminAja DC"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "105", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupAWBAssigned, Note: "waiting for 3PL pickup / AWB"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "106", Status: shipment.StatusInTransit, SubStatus: shipment.SubInTransitOnTheWay, Note: "with courier / in transit"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "107", Status: shipment.StatusException, SubStatus: shipment.SubExceptionProblemReported, Note: "reported by driver"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "110", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupOther, Note: "pending direct pickup"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "152", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedRedeliveryScheduled, Note: "re-delivery / undelivery"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "200", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true, Note: "delivered"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "210", Status: shipment.StatusException, SubStatus: shipment.SubExceptionSLAViolation, Note: "SOP violation / over SLA"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "211", Status: shipment.StatusInTransit, SubStatus: shipment.SubInTransitOther, Note: "violation resolved"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "300", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledByShipper, Terminal: true, Note: "canceled by client"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "301", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedRecipientRefused, Note: "recipient refused"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "302", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledByShipper, Terminal: true, Note: "pickup canceled by seller"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "303", Status: shipment.StatusException, SubStatus: shipment.SubExceptionLost, Note: "lost, \"Paket Hilang\" (kiriminaja/kiriminaja-docs@5db2c41 docs/2.important-notes/0.status-mapping.md; @62c1ce6 docs/3.express/8.status-mapping.md)"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "310", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedRecipientRefused, Note: "rejected: recipient did not order"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "311", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedRecipientRefused, Note: "rejected: recipient unwilling to pay"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "333", Status: shipment.StatusException, SubStatus: shipment.SubExceptionDestroyed, Terminal: true, Note: "destroyed by courier"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "350", Status: shipment.StatusException, SubStatus: shipment.SubExceptionCancellationRequested, Note: "pickup cancellation requested"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "400", Status: shipment.StatusReturned, SubStatus: shipment.SubReturnedToSender, Terminal: true, Note: "successfully returned"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "401", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningToSender, Note: "return information from DC"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "402", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningOther, Note: "arrived at KiriminAja warehouse"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "403", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningToSender, Note: "return request initiated"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "404", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningToSender, Note: "courier requested for return delivery"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "405", Status: shipment.StatusException, SubStatus: shipment.SubExceptionReturnProblem, Note: "return rejected by seller"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "406", Status: shipment.StatusException, SubStatus: shipment.SubExceptionReturnProblem, Note: "return package breach"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "500", Status: shipment.StatusException, SubStatus: shipment.SubExceptionProblemReported, Note: "package has issues"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "555", Status: shipment.StatusException, SubStatus: shipment.SubExceptionConfiscated, Terminal: true, Note: "confiscated by customs"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "701", Status: shipment.StatusException, SubStatus: shipment.SubExceptionLost, Note: "lost"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "702", Status: shipment.StatusException, SubStatus: shipment.SubExceptionDamaged, Note: "damaged"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "703", Status: shipment.StatusException, SubStatus: shipment.SubExceptionClaimResolved, Terminal: true, Note: "lost, claim resolved"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "704", Status: shipment.StatusException, SubStatus: shipment.SubExceptionClaimResolved, Terminal: true, Note: "damaged, claim resolved"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "900", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: "canceled (Express webhook page only)"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "901", Status: shipment.StatusException, SubStatus: shipment.SubExceptionPickupProblem, Note: "problematic pickup"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "902", Status: shipment.StatusException, SubStatus: shipment.SubExceptionProblemReported, Note: "issue at KiriminAja warehouse"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "903", Status: shipment.StatusException, SubStatus: shipment.SubExceptionProblemReported, Note: "issue on courier's side"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "904", Status: shipment.StatusException, SubStatus: shipment.SubExceptionReturnProblem, Note: "return has issues"},
	{Provider: providers.KiriminAja, Family: "package status", ProviderStatus: "905", Status: shipment.StatusException, SubStatus: shipment.SubExceptionIncompleteData, Note: "data incomplete (import)"},
}

// kiriminajaCode is kiriminajaCodeRows by code.
var kiriminajaCode = index(kiriminajaCodeRows)

// kiriminajaNotShipment are the methods KiriminAja documents that are not about
// a shipment, by folded method, with why: they carry no order id and no status.
// An adapter can only emit events or dead-letter (the consumer has no
// acknowledge-and-drop path), so such a body dead-letters as
// not_a_shipment_event with this explanation, not as an order missing its id.
var kiriminajaNotShipment = map[string]string{
	"instant payment confirmed": "a payment confirmation ({payment_id, paid_at}, no order_id; " + kiriminajaInstantLegacySource + "), not a shipment status",
}

// kiriminaja is the "kiriminaja" route: one gateway route receives both
// Express and Instant pushes, told apart by the body (see isInstant).
type kiriminaja struct{}

// Normalize implements Adapter.
func (kiriminaja) Normalize(rec RawRecord) ([]Output, error) {
	b, err := decodeKiriminaja(rec.Body)
	if err != nil {
		return nil, err
	}
	if b.isInstant() {
		return kiriminajaInstant{}.normalize(rec, b)
	}
	return kiriminajaExpress{}.normalize(rec, b)
}

// decodeKiriminaja decodes the envelope and its rows. A row of the wrong JSON
// type ("data": [5, {...}]) stays an empty row, so it dead-letters alone as
// order[i] while the other rows map.
func decodeKiriminaja(body []byte) (*kiriminajaBody, error) {
	var b kiriminajaBody
	dropped, err := decodeBody(providers.KiriminAja, body, &b)
	if err != nil {
		return nil, err
	}
	b.dropped = dropped
	if why, ok := kiriminajaNotShipment[normKey(b.Method.String())]; ok {
		return nil, Permanent(ReasonNoShipment, "kiriminaja %q is %s", b.Method.String(), why)
	}
	addRow := func(raw []byte, prefix string) {
		var r kiriminajaRow
		d, err := decodeLenient(raw, &r)
		if err != nil {
			d = []string{""}
		}
		b.rows = append(b.rows, r)
		b.rowDropped = append(b.rowDropped, prefixed(prefix, d))
	}
	switch jsonKind(b.Data) {
	case '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(b.Data, &raws); err != nil {
			return nil, &Error{Reason: ReasonUnsupportedShape, Err: err}
		}
		for _, raw := range raws {
			addRow(raw, "data[]")
		}
	case '{':
		addRow(b.Data, "data")
	default:
		if k := jsonKind(b.Data); k != 0 && k != 'n' {
			b.dropped = append(b.dropped, "data") // a scalar: read as absent
		}
		// No data: the official plugin falls back to packages.
		for _, p := range b.Packages {
			b.rows = append(b.rows, kiriminajaRow{OrderID: p.OrderID, AWB: p.AWB})
			b.rowDropped = append(b.rowDropped, nil)
		}
	}
	if len(b.rows) == 0 {
		if b.Method == "" {
			return nil, Permanent(ReasonUnsupportedShape, "kiriminaja payload has no method and no data")
		}
		return nil, Permanent(ReasonNoShipment, "kiriminaja %q payload holds no order", b.Method.String())
	}
	return &b, nil
}

// isInstant reports an Instant push: its packages say service_type instant
// (or same day), or its method is one of the legacy instant_* names (their
// bodies have no packages[]). Express complete-format packages carry parcel
// services.
func (b *kiriminajaBody) isInstant() bool {
	if strings.HasPrefix(normKey(b.Method.String()), "instant ") {
		return true
	}
	for _, p := range b.Packages {
		if t := normKey(p.ServiceType.String()); t == "instant" || t == "same day" || t == "sameday" {
			return true
		}
	}
	return false
}

// kiriminajaMethod folds a method name for lookup: lower case, and singular
// names ("shipped_package") to the documented plural, since KiriminAja writes
// "the method name following the data being sent (plural or singular)".
func kiriminajaMethod(method string, table map[string]Mapping) string {
	k := normKey(method)
	if _, ok := table[k]; ok || strings.HasSuffix(k, "s") {
		return k
	}
	if _, ok := table[k+"s"]; ok {
		return k + "s"
	}
	return k
}

// packageFor returns the packages[] entry of a row (same order id or AWB).
func (b *kiriminajaBody) packageFor(r *kiriminajaRow) *kiriminajaPackage {
	for i := range b.Packages {
		p := &b.Packages[i]
		if (r.OrderID != "" && p.OrderID == r.OrderID) || (r.AWB != "" && p.AWB == r.AWB) {
			return p
		}
	}
	if len(b.Packages) == 1 && len(b.rows) == 1 {
		return &b.Packages[0]
	}
	return nil
}

// kiriminajaMapRows maps every row of b: pick returns a row's mapping and
// candidate event times. A row without an id (or with one over the limit)
// becomes a Dead output naming its index; the other rows still map.
func kiriminajaMapRows(rec RawRecord, b *kiriminajaBody, method string, family shipment.ServiceType,
	pick func(r *kiriminajaRow) (Mapping, []flexString)) ([]Output, error) {
	var good []Output
	var bad []*Error
	for i := range b.rows {
		r := &b.rows[i]
		m, times := pick(r)
		o, err := kiriminajaEvent(rec, b, i, method, m, times, family)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		if len(good) == 0 {
			o.Dropped = append(append([]string(nil), b.dropped...), o.Dropped...)
		}
		good = append(good, o)
	}
	return collect(good, bad)
}

// kiriminajaEvent maps row i: m is the method's row (unmapped when the method
// is unknown), refined or replaced by the package status code, or inferred from
// the row's timestamps; times are the candidate event times; family is the
// service type when the body names none.
func kiriminajaEvent(rec RawRecord, b *kiriminajaBody, i int, method string, m Mapping, times []flexString, family shipment.ServiceType) (Output, *Error) {
	r := &b.rows[i]
	pkg := b.packageFor(r)
	rawID := r.OrderID.String()
	if rawID == "" && pkg != nil {
		rawID = pkg.OrderID.String()
	}
	if rawID == "" {
		rawID = r.AWB.String()
	}
	what := orderLabel("order", i)
	if rawID == "" {
		return Output{}, Permanent(ReasonMissingShipmentID, "kiriminaja %q %s has no order_id or awb", b.Method.String(), what)
	}
	id, idErr := shipmentID(providers.KiriminAja, what, rawID)
	if idErr != nil {
		return Output{}, idErr
	}
	d := shipment.Data{
		ProviderEvent:  b.Method.String(),
		ShipmentID:     id,
		OrderID:        r.OrderID.String(),
		TrackingNumber: r.AWB.String(),
		ProviderStatus: b.Method.String(),
		Reason:         r.Reason.String(),
	}
	if r.Status != "" { // legacy update_instant_packages
		d.ProviderStatus = r.Status.String()
	}
	if d.Reason == "" {
		// The cancellation or rejection reason under its name in each
		// scheme: update_instant_packages, then the legacy instant_* methods.
		d.Reason = firstNonEmpty(r.CancelReason.String(), r.RejectionNote.String(),
			r.CanceledReason.String(), r.RejectedReason.String())
	}
	d.Service = r.Service.String()
	d.ServiceType = kiriminajaServiceType(r.ServiceName.String())
	d.TrackingURL = r.LiveTrackURL.String()
	d.Courier = r.Driver.courier(d.Service)
	if pkg != nil {
		if code := pkg.Status.String(); code != "" {
			d.ProviderStatus = code
			if cm, ok := kiriminajaCode[normKey(code)]; ok {
				switch {
				case m.Status == cm.Status:
					m.SubStatus = cm.SubStatus
				case m.Status == shipment.StatusUnknown:
					m = cm
					d.Inferred = true
				case method == "problem packages" && cm.Status == shipment.StatusDeliveryFailed:
					// A failed delivery attempt reported as a problem: the
					// code says what failed (152, 301, 310, 311).
					m = cm
				}
			}
		}
		if d.OrderID == "" {
			d.OrderID = pkg.OrderID.String()
		}
		if d.TrackingNumber == "" {
			d.TrackingNumber = pkg.AWB.String()
		}
		d.Service = pkg.Service.String()
		d.ServiceType = kiriminajaServiceType(pkg.ServiceType.String())
		d.TrackingURL = pkg.LiveTrackingURL.String()
		d.Origin = pkg.Origin.place()
		d.Destination = pkg.Destination.place()
		d.Courier = pkg.Driver.courier(d.Service)
	}
	if method == "problem packages" && m.Status == shipment.StatusException && m.SubStatus == shipment.SubExceptionProblemReported {
		if rm, ok := kiriminajaProblemReason(d.Reason); ok {
			m = rm
		}
	}
	if m.Status == shipment.StatusUnknown {
		if im, t, ok := kiriminajaInfer(r); ok {
			m, times = im, []flexString{t}
			d.Inferred = true
		}
	}
	if d.ServiceType == shipment.ServiceUnknown {
		d.ServiceType = family
	}
	m.apply(&d)
	// One payment covers the whole body: it is an order's cost only when the
	// body holds one order; on a multi-order body it is left off every order.
	if b.Payment != nil && b.Payment.Amount != "" && len(b.rows) == 1 {
		d.Amounts = &shipment.Amounts{Currency: "IDR", ShippingCost: string(b.Payment.Amount)}
	}
	if c := firstNonEmpty(string(r.ShippingCost), string(r.ShippingPrice)); c != "" {
		d.Amounts = &shipment.Amounts{Currency: "IDR", ShippingCost: c}
	}
	d.PickedUpAt = parseTime(r.ShippedAt.String())
	d.OccurredAt, d.OccurredAtRaw = firstTime(times...)
	key := []string{providers.KiriminAja, id, method, d.TrackingNumber, d.ProviderStatus, d.OccurredAtRaw}
	if method == "problem packages" {
		// problem_packages is re-sent when its reason changes (1.event.md §6).
		key = append(key, d.Reason)
	}
	return envelope(rec, providers.KiriminAja, event{
		DedupKey:   dedupKey(key...),
		Repeatable: d.OccurredAtRaw == "",
		Dropped:    b.rowDropped[i],
		Data:       d,
	}), nil
}

// kiriminajaInferRows are the statuses read from a row's own timestamps when
// the method is unknown (the Express complete-format row carries shipped_at,
// finished_at, returned_at, rejected_at, canceled_at; 1.event.md; the legacy
// Instant rows allocated_at). The latest stage wins: a finished row also
// carries its shipped_at.
var kiriminajaInferRows = []struct {
	field func(r *kiriminajaRow) flexString
	m     Mapping
}{
	{func(r *kiriminajaRow) flexString { return r.FinishedAt }, kiriminajaExpressStatus["finished packages"]},
	{func(r *kiriminajaRow) flexString { return r.ReturnedAt }, kiriminajaExpressStatus["returned packages|returned_at set"]},
	{func(r *kiriminajaRow) flexString { return firstFlex(r.CanceledAt, r.CancelDate) }, kiriminajaExpressStatus["canceled packages"]},
	{func(r *kiriminajaRow) flexString { return firstFlex(r.RejectedAt, r.RejectedDate) }, kiriminajaExpressStatus["rejected packages"]},
	{func(r *kiriminajaRow) flexString { return r.ShippedAt }, kiriminajaExpressStatus["shipped packages"]},
	{func(r *kiriminajaRow) flexString { return r.AllocatedAt }, kiriminajaInstantStatus["instant allocated packages"]},
}

// kiriminajaInfer infers a row's status from its timestamps (see
// kiriminajaInferRows); the time is the event time.
func kiriminajaInfer(r *kiriminajaRow) (Mapping, flexString, bool) {
	for _, ir := range kiriminajaInferRows {
		if t := ir.field(r); parseTime(t.String()) != nil {
			return ir.m, t, true
		}
	}
	return Mapping{}, "", false
}

// firstFlex returns the first non-empty value.
func firstFlex(vals ...flexString) flexString {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// kiriminajaProblemReasons maps the reason of a problem_packages row that names
// a failed delivery attempt. KiriminAja: the event fires when "the package
// cannot be delivered because the address cannot be found, the recipient is
// unavailable, ..." (docs/6.webhook/1.event.md §6); the words are the 3PL
// undelivery terms in Indonesian and English. Matched case-insensitively as
// substrings, first row first.
var kiriminajaProblemReasons = []struct {
	words []string
	m     Mapping
}{
	{[]string{"menolak", "ditolak", "refused", "rejected by recipient", "tidak mau bayar", "tidak merasa pesan"}, kiriminajaExpressStatus["problem packages|reason: recipient refused"]},
	{[]string{"alamat", "address", "misroute", "salah rute"}, kiriminajaExpressStatus["problem packages|reason: address problem"]},
	{[]string{"penerima tidak", "tidak ada orang", "rumah kosong", "tidak di tempat", "tidak ada di tempat", "tidak dapat dihubungi", "tidak bisa dihubungi", "not at home", "nobody", "unavailable", "not available", "cnee unknown", "consignee unknown", "unreachable"}, kiriminajaExpressStatus["problem packages|reason: recipient unavailable"]},
	{[]string{"antar ulang", "kirim ulang", "redelivery", "re-delivery", "undelivered", "gagal kirim", "gagal antar", "failed delivery", "delivery attempt"}, kiriminajaExpressStatus["problem packages|reason: failed attempt"]},
}

// kiriminajaProblemReason maps a problem reason naming a failed attempt.
func kiriminajaProblemReason(reason string) (Mapping, bool) {
	r := strings.ToLower(reason)
	if r == "" {
		return Mapping{}, false
	}
	for _, pr := range kiriminajaProblemReasons {
		for _, w := range pr.words {
			if strings.Contains(r, w) {
				return pr.m, true
			}
		}
	}
	return Mapping{}, false
}

// kiriminajaServiceType maps packages[].service_type.
func kiriminajaServiceType(t string) shipment.ServiceType {
	switch normKey(t) {
	case "instant":
		return shipment.ServiceInstant
	case "same day", "sameday":
		return shipment.ServiceSameDay
	case "":
		return shipment.ServiceUnknown
	default:
		return shipment.ServiceExpress
	}
}

// place converts an origin/destination block (nil when empty).
func (p *kiriminajaPlace) place() *shipment.Place {
	if p == nil {
		return nil
	}
	out := shipment.Place{
		Name: p.Name.String(), Phone: p.Phone.String(), Address: p.Address.String(),
		Latitude: p.Latitude.lat(), Longitude: p.Longitude.lon(),
	}
	if out == (shipment.Place{}) {
		return nil
	}
	return &out
}

// courier converts a driver block; the courier company is the service
// ("gosend", "jne"). Nil when nothing is known.
func (dr *kiriminajaDriver) courier(service string) *shipment.Courier {
	c := shipment.Courier{Company: service}
	if dr != nil {
		c.Name, c.Phone, c.PhotoURL = dr.Name.String(), dr.Phone.String(), dr.Image.String()
	}
	if c == (shipment.Courier{}) {
		return nil
	}
	return &c
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
