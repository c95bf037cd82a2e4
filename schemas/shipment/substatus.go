package shipment

import "strings"

// Sub-statuses refine Status, in the manner of AfterShip subtags and EasyPost
// status_detail. Each is "<status>.<detail>"; the prefix is always the Status it
// refines, and every status has a catch-all "<status>.other" ("unknown.unmapped"
// for StatusUnknown). The list is closed and enforced by the JSON Schema
// (enum, plus one if/then per status so the prefix matches data.status); adding
// one is an additive, minor change: add the constant, add it to SubStatuses, add
// it to schema/shipment-status.v1.json.
const (
	SubCreatedOrderPlaced         = "created.order_placed"         // order exists, nothing scheduled yet
	SubCreatedPendingVerification = "created.pending_verification" // accepted, waiting for the carrier to verify the record
	SubCreatedOther               = "created.other"

	SubAwaitingPickupScheduled         = "awaiting_pickup.scheduled"          // waiting for a booked pickup window
	SubAwaitingPickupAllocatingCourier = "awaiting_pickup.allocating_courier" // searching for a driver
	SubAwaitingPickupAWBAssigned       = "awaiting_pickup.awb_assigned"       // tracking number issued, waiting for the courier
	SubAwaitingPickupRequested         = "awaiting_pickup.pickup_requested"   // pickup requested from the courier
	SubAwaitingPickupValidated         = "awaiting_pickup.validated"          // checked (weight, cost) by the pickup officer
	SubAwaitingPickupOther             = "awaiting_pickup.other"

	SubCourierAssignedDriverAssigned  = "courier_assigned.driver_assigned"    // a driver accepted, not moving yet
	SubCourierAssignedEnRouteToPickup = "courier_assigned.en_route_to_pickup" // the driver is heading to the pickup
	SubCourierAssignedOther           = "courier_assigned.other"

	SubPickedUpByCourier  = "picked_up.by_courier"  // the courier has the parcel
	SubPickedUpAtFacility = "picked_up.at_facility" // received and checked at the carrier's warehouse
	SubPickedUpOther      = "picked_up.other"

	SubInTransitOnTheWay = "in_transit.on_the_way" // moving through the network
	SubInTransitOther    = "in_transit.other"

	SubOutForDeliveryEnRoute  = "out_for_delivery.en_route" // the driver is on the way to the recipient
	SubOutForDeliveryAssigned = "out_for_delivery.assigned" // staged and assigned to a driver for the last leg
	SubOutForDeliveryOther    = "out_for_delivery.other"

	SubDeliveredToRecipient = "delivered.to_recipient"
	SubDeliveredOther       = "delivered.other"

	SubDeliveryFailedFinal                = "delivery_failed.final"                 // the drop could not complete; no retry
	SubDeliveryFailedRecoverable          = "delivery_failed.recoverable"           // failed, the carrier may retry
	SubDeliveryFailedRecipientRefused     = "delivery_failed.recipient_refused"     // the recipient refused or did not order it
	SubDeliveryFailedRedeliveryScheduled  = "delivery_failed.redelivery_scheduled"  // attempt failed, another is planned
	SubDeliveryFailedRecipientUnavailable = "delivery_failed.recipient_unavailable" // nobody at the address / not reachable
	SubDeliveryFailedAddressProblem       = "delivery_failed.address_problem"       // address not found, incomplete or wrong
	SubDeliveryFailedOther                = "delivery_failed.other"

	SubReturningToSender = "returning.to_sender"
	SubReturningOther    = "returning.other"

	SubReturnedToSender = "returned.to_sender"
	SubReturnedOther    = "returned.other"

	SubCancelledByShipper = "cancelled.by_shipper" // the sender (or we) cancelled
	SubCancelledByCarrier = "cancelled.by_carrier" // the provider or its courier cancelled
	SubCancelledOther     = "cancelled.other"

	SubExceptionProblemReported       = "exception.problem_reported"     // the carrier flagged a problem
	SubExceptionRejected              = "exception.rejected"             // the shipment was rejected
	SubExceptionPackageNotReceived    = "exception.package_not_received" // manifest received, parcel not
	SubExceptionPickupProblem         = "exception.pickup_problem"
	SubExceptionReturnProblem         = "exception.return_problem"
	SubExceptionSLAViolation          = "exception.sla_violation"
	SubExceptionCancellationRequested = "exception.cancellation_requested"
	SubExceptionIncompleteData        = "exception.incomplete_data"
	SubExceptionLost                  = "exception.lost"
	SubExceptionDamaged               = "exception.damaged"
	SubExceptionDestroyed             = "exception.destroyed"
	SubExceptionConfiscated           = "exception.confiscated"
	SubExceptionClaimResolved         = "exception.claim_resolved"
	SubExceptionOther                 = "exception.other"

	// SubUnknownUnmapped goes with StatusUnknown: the provider status is not in our tables.
	SubUnknownUnmapped = "unknown.unmapped"
)

// SubStatuses lists every sub-status, grouped by status in life order.
var SubStatuses = []string{
	SubCreatedOrderPlaced, SubCreatedPendingVerification, SubCreatedOther,
	SubAwaitingPickupScheduled, SubAwaitingPickupAllocatingCourier, SubAwaitingPickupAWBAssigned,
	SubAwaitingPickupRequested, SubAwaitingPickupValidated, SubAwaitingPickupOther,
	SubCourierAssignedDriverAssigned, SubCourierAssignedEnRouteToPickup, SubCourierAssignedOther,
	SubPickedUpByCourier, SubPickedUpAtFacility, SubPickedUpOther,
	SubInTransitOnTheWay, SubInTransitOther,
	SubOutForDeliveryEnRoute, SubOutForDeliveryAssigned, SubOutForDeliveryOther,
	SubDeliveredToRecipient, SubDeliveredOther,
	SubDeliveryFailedFinal, SubDeliveryFailedRecoverable, SubDeliveryFailedRecipientRefused,
	SubDeliveryFailedRedeliveryScheduled, SubDeliveryFailedRecipientUnavailable, SubDeliveryFailedAddressProblem,
	SubDeliveryFailedOther,
	SubReturningToSender, SubReturningOther,
	SubReturnedToSender, SubReturnedOther,
	SubCancelledByShipper, SubCancelledByCarrier, SubCancelledOther,
	SubExceptionProblemReported, SubExceptionRejected, SubExceptionPackageNotReceived,
	SubExceptionPickupProblem, SubExceptionReturnProblem, SubExceptionSLAViolation,
	SubExceptionCancellationRequested, SubExceptionIncompleteData, SubExceptionLost,
	SubExceptionDamaged, SubExceptionDestroyed, SubExceptionConfiscated,
	SubExceptionClaimResolved, SubExceptionOther,
	SubUnknownUnmapped,
}

// OtherSubStatus returns the catch-all sub-status of s: "<status>.other", or
// "unknown.unmapped" for StatusUnknown and for values outside the vocabulary.
func OtherSubStatus(s Status) string {
	if s == StatusUnknown || !s.Valid() {
		return SubUnknownUnmapped
	}
	return string(s) + ".other"
}

// SubStatusParent returns the status a sub-status refines (its prefix).
func SubStatusParent(sub string) Status {
	p, _, _ := strings.Cut(sub, ".")
	return Status(p)
}

// ValidSubStatus reports whether sub is in the vocabulary and refines s.
func ValidSubStatus(s Status, sub string) bool {
	if SubStatusParent(sub) != s {
		return false
	}
	for _, v := range SubStatuses {
		if v == sub {
			return true
		}
	}
	return false
}
