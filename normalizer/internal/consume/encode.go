package consume

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// encodedEvent is a canonical event's JSON value split where data.advances goes:
// the value is json[:split] + "true"/"false" + json[split:]. Encoding happens when
// a batch is prepared (beside the batch before it); advances is only known once
// the shipment state is read, so it is spliced in then.
type encodedEvent struct {
	json  []byte
	split int
}

// value returns the record value with advances filled in.
func (e encodedEvent) value(advances bool) []byte {
	lit := "false"
	if advances {
		lit = "true"
	}
	b := make([]byte, 0, len(e.json)+len(lit))
	b = append(b, e.json[:e.split]...)
	b = append(b, lit...)
	return append(b, e.json[e.split:]...)
}

// encodeEvent appends ev as JSON to dst, byte for byte what encoding/json would
// write (TestEncodeEvent_matchesEncodingJSON keeps them equal over every adapter
// fixture), without its reflection: json.Marshal was the largest CPU cost per
// event. The rarely present nested objects (courier, proof, places, amounts) still
// go through encoding/json.
func encodeEvent(dst []byte, ev *shipment.Event) (encodedEvent, error) {
	b := append(dst, `{"specversion":`...)
	b = appendString(b, ev.SpecVersion)
	b = append(b, `,"id":`...)
	b = appendString(b, ev.ID)
	b = append(b, `,"source":`...)
	b = appendString(b, ev.Source)
	b = append(b, `,"type":`...)
	b = appendString(b, ev.Type)
	b = append(b, `,"subject":`...)
	b = appendString(b, ev.Subject)
	b = append(b, `,"time":`...)
	b, err := appendTime(b, ev.Time)
	if err != nil {
		return encodedEvent{}, err
	}
	b = append(b, `,"datacontenttype":`...)
	b = appendString(b, ev.DataContentType)
	b = append(b, `,"dataschema":`...)
	b = appendString(b, ev.DataSchema)
	b = append(b, `,"partitionkey":`...)
	b = appendString(b, ev.PartitionKey)

	d := &ev.Data
	b = append(b, `,"data":{"schema_version":`...)
	b = strconv.AppendInt(b, int64(d.SchemaVersion), 10)
	b = append(b, `,"provider":`...)
	b = appendString(b, d.Provider)
	b = appendOptString(b, `,"provider_event":`, d.ProviderEvent)
	b = append(b, `,"shipment_id":`...)
	b = appendString(b, d.ShipmentID)
	b = appendOptString(b, `,"order_id":`, d.OrderID)
	b = appendOptString(b, `,"merchant_order_id":`, d.MerchantOrderID)
	b = appendOptString(b, `,"tracking_number":`, d.TrackingNumber)
	b = appendOptString(b, `,"service":`, d.Service)
	b = append(b, `,"service_type":`...)
	b = appendString(b, string(d.ServiceType))
	b = append(b, `,"status":`...)
	b = appendString(b, string(d.Status))
	b = append(b, `,"sub_status":`...)
	b = appendString(b, d.SubStatus)
	b = append(b, `,"provider_status":`...)
	b = appendString(b, d.ProviderStatus)
	b = append(b, `,"terminal":`...)
	b = strconv.AppendBool(b, d.Terminal)
	b = append(b, `,"advances":`...)
	split := len(b) - len(dst)
	if d.OccurredAt != nil {
		b = append(b, `,"occurred_at":`...)
		if b, err = appendTime(b, *d.OccurredAt); err != nil {
			return encodedEvent{}, err
		}
	}
	b = appendOptString(b, `,"occurred_at_raw":`, d.OccurredAtRaw)
	b = append(b, `,"received_at":`...)
	if b, err = appendTime(b, d.ReceivedAt); err != nil {
		return encodedEvent{}, err
	}
	if d.Courier != nil {
		if b, err = appendJSON(b, `,"courier":`, d.Courier); err != nil {
			return encodedEvent{}, err
		}
	}
	b = appendOptString(b, `,"reason":`, d.Reason)
	if len(d.Proof) > 0 {
		if b, err = appendJSON(b, `,"proof":`, d.Proof); err != nil {
			return encodedEvent{}, err
		}
	}
	b = appendOptString(b, `,"tracking_url":`, d.TrackingURL)
	for _, p := range []struct {
		name string
		v    *shipment.Place
	}{{`,"origin":`, d.Origin}, {`,"destination":`, d.Destination}} {
		if p.v != nil {
			if b, err = appendJSON(b, p.name, p.v); err != nil {
				return encodedEvent{}, err
			}
		}
	}
	if d.Amounts != nil {
		if b, err = appendJSON(b, `,"amounts":`, d.Amounts); err != nil {
			return encodedEvent{}, err
		}
	}
	if d.Inferred {
		b = append(b, `,"inferred":true`...)
	}
	b = appendOptString(b, `,"received_by":`, d.ReceivedBy)
	if d.Attempt != 0 {
		b = append(b, `,"attempt":`...)
		b = strconv.AppendInt(b, int64(d.Attempt), 10)
	}
	if d.PickedUpAt != nil {
		b = append(b, `,"picked_up_at":`...)
		if b, err = appendTime(b, *d.PickedUpAt); err != nil {
			return encodedEvent{}, err
		}
	}
	for _, w := range []struct {
		name string
		v    *shipment.Window
	}{{`,"pickup_window":`, d.PickupWindow}, {`,"delivery_window":`, d.DeliveryWindow}} {
		if w.v != nil {
			if b, err = appendJSON(b, w.name, w.v); err != nil {
				return encodedEvent{}, err
			}
		}
	}
	b = appendOptString(b, `,"corrects":`, d.Corrects)
	b = append(b, `,"raw":{"topic":`...)
	b = appendString(b, d.Raw.Topic)
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(d.Raw.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, d.Raw.Offset, 10)
	b = appendOptString(b, `,"request_id":`, d.Raw.RequestID)
	b = append(b, "}}}"...)
	return encodedEvent{json: b[len(dst):], split: split}, nil
}

func appendOptString(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, name...), s)
}

func appendJSON(b []byte, name string, v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("encoding canonical event: %w", err)
	}
	return append(append(b, name...), j...), nil
}

// appendTime writes t as time.Time.MarshalJSON does (RFC 3339 with nanoseconds,
// failing for years outside 0..9999 as encoding/json does).
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return b, fmt.Errorf("encoding canonical event: %w", err)
	}
	return append(b, '"'), nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string exactly as encoding/json does by default:
// HTML-safe (<, >, & escaped), U+2028/U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
