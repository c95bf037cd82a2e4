package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// flexString decodes a JSON string, number or boolean into its text, and null
// into "". Providers send ids and codes sometimes as numbers, sometimes as
// strings (KiriminAja status 106 vs "106"); the canonical event keeps text.
// Objects and arrays are an error: a field of that shape is not a scalar.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		// The decoder has validated b; a string without escapes is its bytes.
		if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 {
			*f = flexString(strings.TrimSpace(string(b[1 : len(b)-1])))
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(strings.TrimSpace(s))
	case 'n':
		*f = ""
	case '{', '[':
		return errNotScalar
	default: // number, true, false: the literal text
		*f = flexString(b)
	}
	return nil
}

// String returns the text.
func (f flexString) String() string { return string(f) }

// errNotScalar is returned by the tolerant decoders for objects and arrays.
var errNotScalar = errors.New("expected a string or number, got an object or array")

// flexDecimal decodes a JSON number or numeric string (null, "" and non-numeric
// strings become "no value") into a canonical decimal string: no exponent, no
// trailing fractional zeros, so amounts travel without float rounding.
type flexDecimal string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexDecimal) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = flexDecimal(decimalText(string(s)))
	return nil
}

// decimalText normalises a decimal literal ("30500", "1500.50", "2.1e4",
// " 21000 ") to plain decimal text, or returns "" when s is not a plain finite
// number. Exponents are limited so hostile input cannot make big.Rat allocate.
func decimalText(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return ""
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		e, err := strconv.Atoi(exp)
		if err != nil || e > 30 || e < -30 {
			return ""
		}
	}
	for i, c := range mant {
		if (c < '0' || c > '9') && c != '.' && !(i == 0 && (c == '-' || c == '+')) {
			return ""
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return ""
	}
	return ratText(r)
}

// ratText renders r as plain decimal text with at most 6 fractional digits
// (every currency amount we see has at most 2).
func ratText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	out := strings.TrimRight(r.FloatString(6), "0")
	out = strings.TrimSuffix(out, ".")
	if out == "-0" {
		return "0"
	}
	return out
}

// flexFloat decodes a JSON number or numeric string into a float; anything else
// (null, "", "(sender phone number)") is "absent".
type flexFloat struct {
	V  float64
	OK bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(string(s), 64)
	*f = flexFloat{V: v, OK: err == nil && v == v && v <= 1e308 && v >= -1e308}
	return nil
}

// within returns a pointer to the value when present and inside [-limit, limit]:
// a latitude beyond 90 or a longitude beyond 180 is provider garbage, dropped
// rather than passed on.
func (f flexFloat) within(limit float64) *float64 {
	if !f.OK || f.V < -limit || f.V > limit {
		return nil
	}
	v := f.V
	return &v
}

// lat and lon are the coordinate forms of within.
func (f flexFloat) lat() *float64 { return f.within(90) }
func (f flexFloat) lon() *float64 { return f.within(180) }

// jakarta is Asia/Jakarta as a fixed offset. Indonesia has had no daylight
// saving since 1964, so UTC+7 is exact and needs no tzdata on the host.
var jakarta = time.FixedZone("WIB", 7*60*60)

// zonedLayouts are tried in order for provider times that carry a zone.
var zonedLayouts = []string{
	time.RFC3339Nano,            // 2025-08-05T06:59:31.000000Z, 2026-06-29T09:56:22Z
	"2006-01-02 15:04:05Z07:00", // space separator with zone
	"2006-01-02T15:04:05.999999999Z0700",
}

// localLayouts are zone-less: KiriminAja's legacy "YYYY-MM-DD HH:i:s" and kin,
// read as Asia/Jakarta (PROVIDERS.md §1.5: handlers treat it as WIB).
var localLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseTime reads a provider time string. It returns nil, without error, for
// empty strings, placeholders ("0000-00-00 00:00:00", "-", "null") and text it
// cannot read: a missing time is not a reason to dead-letter a status change;
// the raw string still travels in OccurredAtRaw.
func parseTime(s string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "0000-00-00") || len(s) > 64 {
		return nil
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return validTime(t)
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, jakarta); err == nil {
			return validTime(t)
		}
	}
	return nil
}

// validTime keeps times a JSON date-time can carry (years 1..9999 after UTC
// conversion) and returns them in UTC.
func validTime(t time.Time) *time.Time {
	u := t.UTC()
	if u.Year() < 1 || u.Year() > 9999 {
		return nil
	}
	return &u
}

// firstTime returns the first candidate that is a readable time, with its raw
// string; when none is readable it returns the first non-empty raw string so
// the provider's text still travels.
func firstTime(candidates ...flexString) (*time.Time, string) {
	raw := ""
	for _, c := range candidates {
		if t := parseTime(string(c)); t != nil {
			return t, string(c)
		}
		if raw == "" && c != "" {
			raw = string(c)
		}
	}
	return nil, raw
}

// decodeBody unmarshals a provider body into v, sorting failures into reasons:
// bytes that are not JSON are invalid_json; JSON whose top-level shape does not
// fit the payload (a string where an object belongs) is unsupported_payload. A
// field of the wrong JSON type inside the document is not a failure: it is left
// empty and its path returned in dropped (see decodeLenient).
func decodeBody(provider string, body []byte, v any) (dropped []string, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, Permanent(ReasonInvalidJSON, "decoding %s payload: empty body", provider)
	}
	dropped, err = decodeLenient(body, v)
	if err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, Permanent(ReasonInvalidJSON, "decoding %s payload: body is not valid JSON: %v", provider, err)
		}
		return nil, &Error{Reason: ReasonUnsupportedShape, Err: fmt.Errorf("decoding %s payload: %w", provider, err)}
	}
	return dropped, nil
}

// jsonKind returns the first significant byte of a JSON document: '{', '[', ...
func jsonKind(body []byte) byte {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// normKey folds a provider status for table lookup: trimmed, lower case, runs
// of spaces, hyphens and underscores become one space ("ON_PROCESS" and
// " on  process" both give "on process").
func normKey(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r == ' ' || r == '_' || r == '-' || r == '\t' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// sumDecimal adds decimal strings ("" when there are none or one is invalid).
func sumDecimal(vals ...string) string {
	if len(vals) == 0 {
		return ""
	}
	total := new(big.Rat)
	for _, v := range vals {
		r, ok := new(big.Rat).SetString(v)
		if !ok {
			return ""
		}
		total.Add(total, r)
	}
	return ratText(total)
}

// mulDecimal multiplies two decimal strings ("" when one is invalid).
func mulDecimal(a, b string) string {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	if !ok1 || !ok2 {
		return ""
	}
	return ratText(x.Mul(x, y))
}
