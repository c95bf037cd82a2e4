// Package providers names the courier providers the pipeline accepts webhooks from.
// Their seed payloads (the example bodies of the providers' docs) are in the
// sub-package seed, kept apart so that the names do not pull them into binaries.
//
// A provider name is the gateway's route (/webhooks/{provider}), the raw record's
// "provider" header (schemas.HeaderProvider), the normalizer's adapter registry key
// and the canonical event's data.provider. Every module names providers through
// these constants; adding a provider adds a constant here, to Providers, and its
// seed payloads under seed/<provider>/.
package providers

// Provider route names.
const (
	// KiriminAja (Indonesia): Express and Instant share one route.
	KiriminAja = "kiriminaja"
	// Dash (Indonesia): EXPRESS and LOGISTIC service categories.
	Dash = "dash"
	// Komerce (Indonesia; RajaOngkir's delivery webhooks).
	Komerce = "komerce"
	// Sendstack (Nigeria): one event per drop.
	Sendstack = "sendstack"
)

// Providers returns every provider name, sorted. The slice is new on each call, so
// callers may modify it.
func Providers() []string {
	return []string{Dash, KiriminAja, Komerce, Sendstack}
}
