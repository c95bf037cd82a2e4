package provider

import (
	"bytes"
	"encoding/json"
	"strings"
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
func scalar(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	switch raw[0] {
	case '"':
		// No escapes: the bytes between the quotes are the string, with each
		// run of invalid UTF-8 replaced by one U+FFFD (strings.ToValidUTF8).
		// That is what the normalizer does to the shipment id it takes as the
		// event's subject (its decoder keeps unescaped bytes as they are), so
		// the raw record's key and the subject agree. encoding/json would
		// instead replace every invalid byte.
		// Surrounding white space is trimmed, as the normalizer trims ids.
		if len(raw) >= 2 && raw[len(raw)-1] == '"' && plain(raw[1:len(raw)-1]) {
			s = strings.ToValidUTF8(string(raw[1:len(raw)-1]), "\uFFFD")
		} else if err := json.Unmarshal(raw, &s); err != nil {
			return ""
		}
		s = strings.TrimSpace(s)
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

// plain reports whether a string's inner bytes hold no escape (and no quote).
func plain(in []byte) bool {
	return bytes.IndexByte(in, '\\') < 0 && bytes.IndexByte(in, '"') < 0
}

// The key functions read a few members of a body the handler already checked
// with json.Valid, so they scan it instead of decoding it: encoding/json's
// Unmarshal into a map or struct was the largest single CPU cost of a request
// (~18% of the gateway's CPU at max load). The scan is bounds-checked and gives
// up (no key) on anything malformed; on valid JSON it picks what
// encoding/json would (the last matching member; struct-style lookups also
// match the name case-insensitively). key_test.go checks that against
// encoding/json.

// member returns the raw value of the last member of the JSON object raw named
// name (fold: compared case-insensitively, as encoding/json matches struct
// fields), or nil.
func member(raw []byte, name string, fold bool) []byte {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil
	}
	i++
	var found []byte
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return nil
		}
		if raw[i] == '}' {
			return found
		}
		if raw[i] != '"' {
			return nil
		}
		kend := skipString(raw, i)
		if kend < 0 {
			return nil
		}
		key := raw[i+1 : kend-1]
		i = skipSpace(raw, kend)
		if i >= len(raw) || raw[i] != ':' {
			return nil
		}
		vstart := skipSpace(raw, i+1)
		vend := skipValue(raw, vstart)
		if vend < 0 {
			return nil
		}
		if keyMatches(key, name, fold) {
			found = raw[vstart:vend]
		}
		i = skipSpace(raw, vend)
		if i >= len(raw) {
			return nil
		}
		switch raw[i] {
		case ',':
			i++
		case '}':
			return found
		default:
			return nil
		}
	}
}

func keyMatches(key []byte, name string, fold bool) bool {
	if bytes.IndexByte(key, '\\') >= 0 { // escaped key: decode it (rare)
		var k string
		if err := json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &k); err != nil {
			return false
		}
		key = []byte(k)
	}
	if fold {
		return bytes.EqualFold(key, []byte(name))
	}
	return string(key) == name
}

// elements calls fn with each element of the JSON array raw until fn returns true.
func elements(raw []byte, fn func(el []byte) bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return
	}
	i++
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] == ']' {
			return
		}
		end := skipValue(raw, i)
		if end < 0 || fn(raw[i:end]) {
			return
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ',' {
			return
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"', or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// field returns the scalar member name of a JSON object body.
func field(body []byte, name string) string {
	return scalar(member(body, name, false))
}

// firstOf returns member name of raw when raw is an object, or of its first
// element that has it when raw is an array (KiriminAja's `data` is either;
// Komerce's sandbox reportedly sends an array).
func firstOf(raw []byte, name string) string {
	i := skipSpace(raw, 0)
	if i >= len(raw) {
		return ""
	}
	switch raw[i] {
	case '{':
		return field(raw, name)
	case '[':
		var k string
		elements(raw, func(el []byte) bool {
			k = field(el, name)
			return k != ""
		})
		return k
	}
	return ""
}

// KiriminAjaKey keys by the first data[].order_id (data is an array of orders, or
// one object for update_instant_packages), else the first packages[].order_id.
func KiriminAjaKey(body []byte) string {
	if k := firstOf(member(body, "data", true), "order_id"); k != "" {
		return k
	}
	return firstOf(member(body, "packages", true), "order_id")
}

// DashKey keys by deliveryID (Dash-issued), else providerOrderID.
func DashKey(body []byte) string {
	if k := scalar(member(body, "deliveryID", true)); k != "" {
		return k
	}
	return scalar(member(body, "providerOrderID", true))
}

// KomerceKey keys by order_no (of the object, or of the first element when the
// body is an array).
func KomerceKey(body []byte) string {
	return firstOf(body, "order_no")
}

// SendstackKey keys by batchId, else the first drops[].batchId.
func SendstackKey(body []byte) string {
	if k := scalar(member(body, "batchId", true)); k != "" {
		return k
	}
	return firstOf(member(body, "drops", true), "batchId")
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
