// Package shipmenttest holds helpers for tests that feed damaged records to
// decoders of provider bodies and canonical events.
package shipmenttest

import "math/rand/v2"

// Damage returns a copy of b with one byte cut off the end, dropped, doubled or
// replaced by a character that matters to JSON (or by NUL or 0xff), chosen by r.
func Damage(r *rand.Rand, b []byte) []byte {
	b = append([]byte(nil), b...)
	if len(b) == 0 {
		return b
	}
	i := r.IntN(len(b))
	switch r.IntN(4) {
	case 0:
		return b[:i]
	case 1:
		return append(b[:i], b[i+1:]...)
	case 2:
		return append(b[:i+1], b[i:]...)
	default:
		const chars = "{}[]\",:0e-.tfn\\ \x00\xff"
		b[i] = chars[r.IntN(len(chars))]
		return b
	}
}
