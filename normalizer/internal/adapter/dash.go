package adapter

import (
	"strconv"
	"strings"

	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// dashPayload is Dash's one envelope for every lifecycle event (seed 001).
// Status-specific fields appear "once they're meaningful".
type dashPayload struct {
	ProviderOrderID flexString `json:"providerOrderID"`
	// MerchantOrderID is providerOrderID's name before v4.1 renamed "merchant"
	// to "provider" (docs.dashelectric.co/resources/glossary).
	MerchantOrderID flexString `json:"merchantOrderID"`
	DeliveryID      flexString `json:"deliveryID"`
	Status          flexString `json:"status"`
	// ServiceCategory ("EXPRESS"/"LOGISTIC", the API's field name; changelog
	// v1.0) and ServiceType ("INSTANT"/"SAME_DAY") are not in the seed webhook
	// samples; read when present. Category is an unofficial short form.
	ServiceCategory flexString    `json:"serviceCategory"`
	Category        flexString    `json:"category"`
	ServiceType     flexString    `json:"serviceType"`
	FailedCount     flexString    `json:"failedCount"`
	Courier         *dashCourier  `json:"courier"`
	TrackingURL     flexString    `json:"trackingURL"`
	Sender          dashContact   `json:"sender"`
	Recipient       dashContact   `json:"recipient"`
	Origin          dashPlace     `json:"origin"`
	Destination     dashPlace     `json:"destination"`
	Media           []dashMedia   `json:"media"`
	Quote           dashQuote     `json:"quote"`
	Packages        []dashPackage `json:"packages"`
	CreatedAt       flexString    `json:"createdAt"`
	UpdatedAt       flexString    `json:"updatedAt"`
	PickupAt        flexString    `json:"pickupAt"`
	CompletedAt     flexString    `json:"completedAt"`
	FailedAt        flexString    `json:"failedAt"`
	CancelledAt     flexString    `json:"cancelledAt"`
	FailedReason    flexString    `json:"failedReason"`
	CancelledReason flexString    `json:"cancelledReason"`
}

type dashCourier struct {
	Name  flexString `json:"name"`
	Phone flexString `json:"phone"`
}

type dashContact struct {
	// ActualRecipientName is who signed for the package (recipient block, on COMPLETED).
	ActualRecipientName flexString `json:"actualRecipientName"`
	FirstName           flexString `json:"firstName"`
	LastName            flexString `json:"lastName"`
	CompanyName         flexString `json:"companyName"`
	Phone               flexString `json:"phone"`
}

type dashPlace struct {
	Address     flexString `json:"address"`
	Coordinates struct {
		Latitude  flexFloat `json:"latitude"`
		Longitude flexFloat `json:"longitude"`
	} `json:"coordinates"`
}

type dashMedia struct {
	URL       flexString `json:"url"`
	Type      flexString `json:"type"`
	CreatedAt flexString `json:"createdAt"`
}

type dashQuote struct {
	Amount flexDecimal `json:"amount"`
}

type dashPackage struct {
	Price    flexDecimal `json:"price"`
	Quantity flexDecimal `json:"quantity"`
}

// Dash service categories (Data.Service).
const (
	dashExpress  = "EXPRESS"
	dashLogistic = "LOGISTIC"
)

// dashRows maps Dash statuses per service category (PROVIDERS.md §2.4). The
// twelve lifecycle statuses are EXPRESS's nine plus LOGISTIC's PREPARING,
// VERIFIED and NOT_VERIFIED. LOGISTIC FAILED is recoverable (ops may send the
// delivery back to PENDING_DELIVERY), so it is not terminal; EXPRESS FAILED is.
var dashRows = []Mapping{
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "QUEUEING", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupScheduled},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "ALLOCATING", Status: shipment.StatusAwaitingPickup, SubStatus: shipment.SubAwaitingPickupAllocatingCourier},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "PENDING_PICKUP", Status: shipment.StatusCourierAssigned, SubStatus: shipment.SubCourierAssignedDriverAssigned},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "PICKING_UP", Status: shipment.StatusCourierAssigned, SubStatus: shipment.SubCourierAssignedEnRouteToPickup},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "PENDING_DELIVERY", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpByCourier},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "IN_DELIVERY", Status: shipment.StatusOutForDelivery, SubStatus: shipment.SubOutForDeliveryEnRoute},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "COMPLETED", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "CANCELLED", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledByShipper, Terminal: true, Note: "Dash's \"provider\" is the shipper (us)"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "FAILED", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedFinal, Terminal: true, Note: "also the category of a FAILED with no LOGISTIC mark: serviceCategory defaults to EXPRESS (changelog v1.0)"},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "PREPARING", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedPendingVerification},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "VERIFIED", Status: shipment.StatusPickedUp, SubStatus: shipment.SubPickedUpAtFacility},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "NOT_VERIFIED", Status: shipment.StatusException, SubStatus: shipment.SubExceptionPackageNotReceived, Note: "may return to VERIFIED"},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "PENDING_DELIVERY", Status: shipment.StatusOutForDelivery, SubStatus: shipment.SubOutForDeliveryAssigned, Note: "ranks with delivery_failed, so an ops recovery after FAILED advances"},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "IN_DELIVERY", Status: shipment.StatusOutForDelivery, SubStatus: shipment.SubOutForDeliveryEnRoute},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "COMPLETED", Status: shipment.StatusDelivered, SubStatus: shipment.SubDeliveredToRecipient, Terminal: true},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "FAILED", Status: shipment.StatusDeliveryFailed, SubStatus: shipment.SubDeliveryFailedRecoverable, Note: "recoverable: ops may retry. LOGISTIC when serviceCategory says so, or proof without PICKUP_PROOF, or failedCount > 1"},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "CANCELLED", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledByShipper, Terminal: true, Note: "not confirmed for LOGISTIC"},

	// Statuses of Dash's internal state machine that its public docs do not
	// list (dashGlossary), each where its meaning is unambiguous, in the
	// category whose flow names it. PENDING_PICKING_UP (LOGISTIC reassignment:
	// back to a driver before pickup or before the last leg?) has no row. The
	// glossary's "FAILED is not final" does not change the FAILED rows: the
	// public docs, a published contract, call EXPRESS FAILED final.
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "PENDING_PAYMENT", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedOrderPlaced, Note: dashGlossary + "; first status of both flows, before QUEUEING"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "ARRIVED_AT_PICKUP_POINT", Status: shipment.StatusCourierAssigned, SubStatus: shipment.SubCourierAssignedOther, Note: dashGlossary + "; driver at the pickup, between PICKING_UP and PENDING_DELIVERY (shadow status, from driver location)"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "ARRIVED_AT_DESTINATION", Status: shipment.StatusOutForDelivery, SubStatus: shipment.SubOutForDeliveryOther, Note: dashGlossary + "; driver at the recipient, before COMPLETED (shadow status)"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "PENDING_RETURN", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningToSender, Note: dashGlossary + "; return flow after FAILED (or from ON_HOLD)"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "IN_RETURN", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningToSender, Note: dashGlossary + "; return flow"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "ARRIVED_AT_RETURN_POINT", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningOther, Note: dashGlossary + "; at the return address, before RETURNED (shadow status)"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "FAILED_IN_RETURN", Status: shipment.StatusException, SubStatus: shipment.SubExceptionReturnProblem, Note: dashGlossary + "; the return failed; goes on to RETURN_TO_HUB"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "RETURN_TO_HUB", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningOther, Note: dashGlossary + "; back to Dash's hub after FAILED_IN_RETURN (shadow status)"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "ARRIVED_AT_HUB", Status: shipment.StatusReturning, SubStatus: shipment.SubReturningOther, Note: dashGlossary + "; at the hub, before ON_HOLD (shadow status)"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "ON_HOLD", Status: shipment.StatusException, SubStatus: shipment.SubExceptionOther, Note: dashGlossary + "; held at the hub until DISPOSED, RETURNED or PENDING_RETURN; not terminal"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "RETURNED", Status: shipment.StatusReturned, SubStatus: shipment.SubReturnedToSender, Terminal: true, Note: dashGlossary + "; final state"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "DISPOSED", Status: shipment.StatusException, SubStatus: shipment.SubExceptionDestroyed, Terminal: true, Note: dashGlossary + "; final state, from ON_HOLD"},
	{Provider: providers.Dash, Family: dashExpress, ProviderStatus: "EXPIRED", Status: shipment.StatusCancelled, SubStatus: shipment.SubCancelledOther, Terminal: true, Note: dashGlossary + "; final state without delivery (unpaid or never allocated)"},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "PENDING_PAYMENT", Status: shipment.StatusCreated, SubStatus: shipment.SubCreatedOrderPlaced, Note: dashGlossary + "; LOGISTIC flow: PENDING_PAYMENT, QUEUEING, PREPARING"},
	{Provider: providers.Dash, Family: dashLogistic, ProviderStatus: "ARRIVED_AT_DESTINATION", Status: shipment.StatusOutForDelivery, SubStatus: shipment.SubOutForDeliveryOther, Note: dashGlossary + "; LOGISTIC flow: IN_DELIVERY, ARRIVED_AT_DESTINATION, COMPLETED"},
}

// dashGlossary cites the statuses Dash's design-system team extracted from its
// delivery service (delivery.state-machine.ts, delivery-status.ts): Dash code,
// but not a contract Dash publishes for webhooks.
const dashGlossary = "Dash internal glossary (not a published contract): dash-electric/dash-design-system@c90d58b apps/docs/registry/rules/dash-domain-glossary.md §B.4"

// dashStatus is dashRows keyed by category + " " + status, e.g. "express queueing".
var dashStatus = func() map[string]Mapping {
	m := make(map[string]Mapping, len(dashRows))
	for _, r := range dashRows {
		m[normKey(r.Family+" "+r.ProviderStatus)] = r
	}
	return m
}()

// dashLogisticOnly are the statuses only LOGISTIC deliveries have; dashShared
// the ones both categories have and whose mapping differs or whose category must
// be inferred. CANCELLED is EXPRESS unless the payload says LOGISTIC: LOGISTIC
// has "no provider-side cancel".
var (
	dashLogisticOnly = map[string]bool{"preparing": true, "verified": true, "not verified": true}
	dashShared       = map[string]bool{"pending delivery": true, "in delivery": true, "completed": true, "failed": true}
)

// dash adapts Dash Electric webhooks, EXPRESS and LOGISTIC.
type dash struct{}

// Normalize implements Adapter.
func (dash) Normalize(rec RawRecord) ([]Output, error) {
	var p dashPayload
	dropped, err := decodeBody(providers.Dash, rec.Body, &p)
	if err != nil {
		return nil, err
	}
	if p.DeliveryID == "" {
		return nil, Permanent(ReasonMissingShipmentID, "dash payload has no deliveryID")
	}
	id, idErr := shipmentID(providers.Dash, "deliveryID", p.DeliveryID.String())
	if idErr != nil {
		return nil, idErr
	}
	status := normKey(p.Status.String())
	inferred := false
	if _, known := dashStatus[normKey(dashExpress+" "+status)]; !known && !dashLogisticOnly[status] {
		if s := dashInferStatus(&p); s != "" {
			status, inferred = s, true
		}
	}
	category := dashCategory(&p, status)
	m, ok := dashStatus[normKey(category+" "+status)]
	if !ok {
		m = unmapped
	}
	merchantOrderID := firstNonEmpty(p.ProviderOrderID.String(), p.MerchantOrderID.String())
	d := shipment.Data{
		ShipmentID:      id,
		OrderID:         id,
		MerchantOrderID: merchantOrderID,
		TrackingNumber:  merchantOrderID,
		Service:         category,
		ServiceType:     dashServiceType(category, p.ServiceType.String()),
		ProviderStatus:  p.Status.String(),
		TrackingURL:     p.TrackingURL.String(),
		Origin:          dashPlaceOf(p.Origin, p.Sender),
		Destination:     dashPlaceOf(p.Destination, p.Recipient),
		Inferred:        inferred,
		ReceivedBy:      p.Recipient.ActualRecipientName.String(),
		PickedUpAt:      parseTime(p.PickupAt.String()),
		Attempt:         dashAttempt(p.FailedCount.String(), status),
	}
	m.apply(&d)
	if p.Courier != nil && (p.Courier.Name != "" || p.Courier.Phone != "") {
		d.Courier = &shipment.Courier{Company: "Dash", Name: p.Courier.Name.String(), Phone: p.Courier.Phone.String()}
	}
	switch status {
	case "failed":
		d.Reason = p.FailedReason.String()
	case "cancelled":
		d.Reason = p.CancelledReason.String()
	}
	for _, md := range p.Media {
		if md.URL == "" {
			continue
		}
		d.Proof = append(d.Proof, shipment.Media{Kind: dashMediaKind(md.Type.String()), URL: md.URL.String(), TakenAt: parseTime(md.CreatedAt.String())})
	}
	if amt := dashAmounts(&p); amt != nil {
		d.Amounts = amt
	}
	// The event's own time: the status-specific stamp on terminal events, which
	// carry no updatedAt; updatedAt otherwise (Dash dedupes on deliveryID +
	// status + updatedAt); pickupAt/createdAt when nothing better exists.
	d.OccurredAt, d.OccurredAtRaw = firstTime(dashEventTimes(&p, status)...)
	key := []string{providers.Dash, id, normKey(p.Status.String()), d.OccurredAtRaw}
	if d.Attempt > 0 {
		// A recovered LOGISTIC delivery repeats statuses; the attempt tells
		// the second PENDING_DELIVERY from a re-delivery of the first.
		key = append(key, "attempt="+p.FailedCount.String())
	}
	return []Output{envelope(rec, providers.Dash, event{
		DedupKey:   dedupKey(key...),
		Repeatable: d.OccurredAtRaw == "",
		Dropped:    dropped,
		Data:       d,
	})}, nil
}

// dashInferStatus reads the status of a body whose status is unknown (or
// missing) from the status-specific stamps Dash sets only on one status each
// (seed field reference: completedAt only on COMPLETED, failedAt only on
// FAILED, cancelledAt only on CANCELLED). "" when none is set.
func dashInferStatus(p *dashPayload) string {
	switch {
	case parseTime(p.CompletedAt.String()) != nil:
		return "completed"
	case parseTime(p.FailedAt.String()) != nil:
		return "failed"
	case parseTime(p.CancelledAt.String()) != nil:
		return "cancelled"
	}
	return ""
}

// dashReturnFlow are the glossary's statuses of the return that follows a
// failure (FAILED → PENDING_RETURN → ... → RETURNED, or via FAILED_IN_RETURN,
// the hub and ON_HOLD to DISPOSED): no new delivery attempt starts there.
var dashReturnFlow = map[string]bool{
	"pending return": true, "in return": true, "arrived at return point": true, "failed in return": true,
	"return to hub": true, "arrived at hub": true, "on hold": true, "returned": true, "disposed": true,
}

// dashAttempt is the delivery attempt of an event from failedCount (the number
// of failures so far): the failure itself on FAILED and on the return flow
// after it, the next attempt after it otherwise. 0 (unknown) while nothing
// has failed.
func dashAttempt(failedCount, status string) int {
	n, err := strconv.Atoi(strings.TrimSpace(failedCount))
	if err != nil || n <= 0 || n > 1000 {
		return 0
	}
	if status == "failed" || dashReturnFlow[status] {
		return n
	}
	return n + 1
}

// dashEventTimes lists the candidate event times of a status, best first.
func dashEventTimes(p *dashPayload, status string) []flexString {
	switch status {
	case "completed":
		return []flexString{p.CompletedAt, p.UpdatedAt}
	case "failed":
		return []flexString{p.FailedAt, p.UpdatedAt}
	case "cancelled":
		return []flexString{p.CancelledAt, p.UpdatedAt}
	case "pending delivery", "in delivery":
		return []flexString{p.UpdatedAt, p.PickupAt}
	default:
		return []flexString{p.UpdatedAt, p.CreatedAt}
	}
}

// dashCategory tells EXPRESS from LOGISTIC from every signal the body has:
//   - an explicit serviceCategory (or category) field;
//   - the status: PREPARING, VERIFIED, NOT_VERIFIED are LOGISTIC-only; QUEUEING,
//     ALLOCATING, PENDING_PICKUP, PICKING_UP, CANCELLED (and every status
//     outside the shared four, the glossary's return flow included) EXPRESS;
//   - EXPRESS-only marks: a trackingURL, a PICKUP_PROOF, serviceType INSTANT
//     (LOGISTIC is SAME_DAY only), pickupAt on PENDING_DELIVERY (LOGISTIC sets
//     it from IN_DELIVERY on);
//   - LOGISTIC-only marks: proof media without a PICKUP_PROOF (LOGISTIC skips
//     it, EXPRESS captures it at pickup), failures on a non-FAILED event or
//     more than one failure (only LOGISTIC recovers from FAILED);
//   - else: FAILED and COMPLETED are EXPRESS, serviceCategory's documented
//     default, so a proof-less EXPRESS FAILED stays terminal; a mark-less
//     PENDING_DELIVERY or IN_DELIVERY is LOGISTIC (EXPRESS always has the
//     pickup marks there; IN_DELIVERY maps the same either way).
//
// Sources: docs.dashelectric.co /categories/express, /categories/logistic,
// /resources/changelog, seed 001 field reference.
func dashCategory(p *dashPayload, status string) string {
	for _, f := range []flexString{p.ServiceCategory, p.Category} {
		switch c := strings.ToUpper(f.String()); c {
		case dashExpress, dashLogistic:
			return c
		}
	}
	if dashLogisticOnly[status] {
		return dashLogistic
	}
	if !dashShared[status] {
		return dashExpress
	}
	if p.TrackingURL != "" || strings.EqualFold(p.ServiceType.String(), "INSTANT") {
		return dashExpress
	}
	pickupProof, laterProof := false, false
	for _, m := range p.Media {
		switch strings.ToUpper(m.Type.String()) {
		case "PICKUP_PROOF":
			pickupProof = true
		case "DELIVERY_PROOF", "FAILED_PROOF":
			laterProof = true
		}
	}
	if pickupProof {
		return dashExpress
	}
	if laterProof {
		return dashLogistic
	}
	failures, _ := strconv.Atoi(strings.TrimSpace(p.FailedCount.String()))
	if (status != "failed" && failures > 0) || failures > 1 {
		return dashLogistic
	}
	switch status {
	case "failed", "completed":
		return dashExpress
	case "pending delivery":
		if p.PickupAt != "" {
			return dashExpress
		}
	}
	return dashLogistic
}

// dashServiceType maps category and service type to the canonical service type.
func dashServiceType(category, serviceType string) shipment.ServiceType {
	switch {
	case category == dashLogistic:
		return shipment.ServiceLogistic
	case normKey(serviceType) == "instant":
		return shipment.ServiceInstant
	case normKey(serviceType) == "same day":
		return shipment.ServiceSameDay
	default:
		return shipment.ServiceUnknown
	}
}

// dashMediaKind maps PICKUP_PROOF, DELIVERY_PROOF, FAILED_PROOF to Media.Kind.
func dashMediaKind(t string) string {
	switch k := strings.ToLower(strings.TrimSpace(t)); k {
	case "pickup_proof", "delivery_proof", "failed_proof":
		return k
	default:
		return "other"
	}
}

// dashPlaceOf joins an address block with its contact block.
func dashPlaceOf(pl dashPlace, c dashContact) *shipment.Place {
	name := strings.TrimSpace(strings.Join(strings.Fields(c.FirstName.String()+" "+c.LastName.String()), " "))
	if name == "" {
		name = c.CompanyName.String()
	}
	out := shipment.Place{
		Name:      name,
		Phone:     c.Phone.String(),
		Address:   pl.Address.String(),
		Latitude:  pl.Coordinates.Latitude.lat(),
		Longitude: pl.Coordinates.Longitude.lon(),
	}
	if out == (shipment.Place{}) {
		return nil
	}
	return &out
}

// dashAmounts reads the quote (IDR) and the declared package value.
func dashAmounts(p *dashPayload) *shipment.Amounts {
	a := shipment.Amounts{ShippingCost: string(p.Quote.Amount)}
	a.ItemValue = sumItemValue(p.Packages)
	if a.ShippingCost == "" && a.ItemValue == "" {
		return nil
	}
	a.Currency = "IDR"
	return &a
}

// sumItemValue is the sum of price × quantity over packages (quantity 1 when absent).
func sumItemValue(pkgs []dashPackage) string {
	var prices []string
	for _, pk := range pkgs {
		if pk.Price == "" {
			continue
		}
		q := string(pk.Quantity)
		if q == "" {
			q = "1"
		}
		prices = append(prices, mulDecimal(string(pk.Price), q))
	}
	return sumDecimal(prices...)
}
