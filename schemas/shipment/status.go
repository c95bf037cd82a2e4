package shipment

// Status is the canonical shipment status: a small closed vocabulary shared by
// every provider, in the manner of AfterShip tags and EasyPost status. The
// provider's own status travels verbatim beside it (Data.ProviderStatus).
type Status string

// The canonical statuses. Order of the list is the usual life of a shipment.
const (
	StatusCreated         Status = "created"          // order exists at the provider; nothing physical yet
	StatusAwaitingPickup  Status = "awaiting_pickup"  // ready and waiting for a courier / pickup window
	StatusCourierAssigned Status = "courier_assigned" // a named courier or driver accepted the job
	StatusPickedUp        Status = "picked_up"        // the parcel is in the courier's hands
	StatusInTransit       Status = "in_transit"       // moving through the network
	StatusOutForDelivery  Status = "out_for_delivery" // on the last leg to the recipient
	StatusDelivered       Status = "delivered"        // handed to the recipient (terminal)
	StatusDeliveryFailed  Status = "delivery_failed"  // a delivery attempt failed; may be retried
	StatusReturning       Status = "returning"        // on its way back to the sender
	StatusReturned        Status = "returned"         // back with the sender (terminal)
	StatusCancelled       Status = "cancelled"        // cancelled before delivery (terminal)
	StatusException       Status = "exception"        // a problem needs attention (lost, damaged, held, rejected)
	StatusUnknown         Status = "unknown"          // the provider status is not in our mapping; kept and counted
)

// Statuses lists every canonical status, in life order.
var Statuses = []Status{
	StatusCreated, StatusAwaitingPickup, StatusCourierAssigned, StatusPickedUp,
	StatusInTransit, StatusOutForDelivery, StatusDelivered, StatusDeliveryFailed,
	StatusReturning, StatusReturned, StatusCancelled, StatusException, StatusUnknown,
}

// Valid reports whether s is one of the canonical statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Rank orders statuses along a shipment's life, for deciding whether an event
// advances a shipment. Exception and unknown have rank -1: they carry news but
// neither advance nor regress the life cycle by themselves.
func (s Status) Rank() int {
	switch s {
	case StatusCreated:
		return 0
	case StatusAwaitingPickup:
		return 1
	case StatusCourierAssigned:
		return 2
	case StatusPickedUp:
		return 3
	case StatusInTransit:
		return 4
	case StatusOutForDelivery, StatusDeliveryFailed:
		return 5
	case StatusReturning:
		return 6
	case StatusDelivered, StatusReturned, StatusCancelled:
		return 7
	default:
		return -1
	}
}

// Terminal reports statuses after which a shipment does not move on by itself.
// Which provider statuses are terminal is decided per provider by the adapters
// (Data.Terminal): Dash LOGISTIC FAILED maps to delivery_failed and is not terminal,
// Dash EXPRESS FAILED is.
func (s Status) Terminal() bool {
	return s == StatusDelivered || s == StatusReturned || s == StatusCancelled
}
