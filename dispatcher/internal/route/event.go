package route

import (
	"encoding/json"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// Event is one canonical event as the routing rules see it. The shorthand forms
// (status, sub_status, provider, service_type) read the typed event the caller
// already decoded; only a `field:` path decodes the raw JSON as a generic map,
// once, on first use. So a routes file without `field:` rules costs no second
// decode per record. An Event is not safe for concurrent use.
type Event struct {
	typed   *shipment.Event
	raw     []byte
	doc     map[string]any
	decoded bool
}

// NewEvent wraps an event decoded from raw (the canonical record value).
func NewEvent(ev *shipment.Event, raw []byte) *Event {
	return &Event{typed: ev, raw: raw}
}

// lookup returns the value at a dot path and whether it is present. For the
// shorthand paths a typed zero value stands for an absent, null or empty JSON
// field, which Cond.test treats alike.
func (e *Event) lookup(path string) (any, bool) {
	if e.typed != nil {
		switch path {
		case "data.status":
			return string(e.typed.Data.Status), true
		case "data.sub_status":
			return e.typed.Data.SubStatus, true
		case "data.provider":
			return e.typed.Data.Provider, true
		case "data.service_type":
			return string(e.typed.Data.ServiceType), true
		}
	}
	if !e.decoded {
		e.decoded = true
		_ = json.Unmarshal(e.raw, &e.doc) // raw already decoded as e.typed
	}
	return lookupPath(e.doc, path)
}
