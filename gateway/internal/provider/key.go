package provider

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// MaxKeyLen bounds a record key read from a body; a longer reference falls back
// to the provider name rather than bloating every Kafka record.
const MaxKeyLen = 256

// KeyFunc reads the shipment reference from a body that is already known to be
// valid JSON. It returns "" when the body has none; the caller then keys the
// record by provider name. It must not panic on any input.
type KeyFunc func(body []byte) string

// scalar renders a JSON string or number as a key; other JSON values give "".
func scalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return ""
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return ""
		}
		s = n.String()
	default:
		return ""
	}
	if len(s) > MaxKeyLen || !utf8.ValidString(s) {
		return ""
	}
	return s
}

// field returns the scalar member name of a JSON object body.
func field(body []byte, name string) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return ""
	}
	return scalar(obj[name])
}

// firstOf returns member name of raw when raw is an object, or of its first
// element when raw is an array (KiriminAja's `data` is either; Komerce's sandbox
// reportedly sends an array).
func firstOf(raw json.RawMessage, name string) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '{':
		return field(raw, name)
	case '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			return ""
		}
		for _, el := range arr {
			if k := field(el, name); k != "" {
				return k
			}
		}
	}
	return ""
}

// KiriminAjaKey keys by the first data[].order_id (data is an array of orders, or
// one object for update_instant_packages), else the first packages[].order_id.
func KiriminAjaKey(body []byte) string {
	var env struct {
		Data     json.RawMessage `json:"data"`
		Packages json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ""
	}
	if k := firstOf(env.Data, "order_id"); k != "" {
		return k
	}
	return firstOf(env.Packages, "order_id")
}

// DashKey keys by deliveryID (Dash-issued), else providerOrderID.
func DashKey(body []byte) string {
	var env struct {
		DeliveryID      json.RawMessage `json:"deliveryID"`
		ProviderOrderID json.RawMessage `json:"providerOrderID"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ""
	}
	if k := scalar(env.DeliveryID); k != "" {
		return k
	}
	return scalar(env.ProviderOrderID)
}

// KomerceKey keys by order_no (of the object, or of the first element when the
// body is an array).
func KomerceKey(body []byte) string {
	return firstOf(body, "order_no")
}

// SendstackKey keys by batchId, else the first drops[].batchId.
func SendstackKey(body []byte) string {
	var env struct {
		BatchID json.RawMessage `json:"batchId"`
		Drops   json.RawMessage `json:"drops"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ""
	}
	if k := scalar(env.BatchID); k != "" {
		return k
	}
	return firstOf(env.Drops, "batchId")
}

// SendstackWebhookID reads webhookId, the message the Sendstack signature covers
// in its current docs.
func SendstackWebhookID(body []byte) (string, bool) {
	var env struct {
		WebhookID *string `json:"webhookId"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.WebhookID == nil {
		return "", false
	}
	return *env.WebhookID, true
}
