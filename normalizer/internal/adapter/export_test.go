package adapter

import "errors"

// WithoutFastDecode runs f with decodeLenient decoding by encoding/json alone:
// the reference its first try (fastUnmarshal) is held to.
func WithoutFastDecode(f func()) {
	prev := fastUnmarshal
	fastUnmarshal = func([]byte, any) error { return errors.New("fast decode off") }
	defer func() { fastUnmarshal = prev }()
	f()
}
