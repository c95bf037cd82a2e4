package state

import (
	"strconv"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// Arrive records, in arrival order, that a non-duplicate event with status
// arrived for the shipment, and returns the new state (cur itself when nothing
// changed) and the shipment's epoch after it: when status differs from the
// status of the last such event, the epoch goes up by one.
//
// The epoch qualifies the dedup key of a repeatable event (one whose key holds
// no provider time, sequence or event id, adapter.Output.Repeatable; see
// QualifiedKey): the same webhook delivered again while no other status
// arrived keeps its key and is a duplicate; the same status after another
// status gets a new key and is a new event. Unlike Apply, this depends on
// arrival order by design: it is the only signal such a provider gives.
func Arrive(cur *Shipment, status shipment.Status) (*Shipment, int) {
	if cur != nil && cur.Last == status {
		return cur, cur.Epoch
	}
	var next Shipment
	if cur != nil {
		next = *cur
	}
	next.Epoch++
	next.Last = status
	return &next, next.Epoch
}

// QualifiedKey is the dedup key of a repeatable event at epoch; its event id is
// shipment.EventID(QualifiedKey(key, epoch)).
func QualifiedKey(key string, epoch int) string {
	return key + "#" + strconv.Itoa(epoch)
}
