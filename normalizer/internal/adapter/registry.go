package adapter

import "github.com/courierhook/pipeline/schemas/providers"

// registry maps the provider route name (schemas/providers: the gateway's route and
// the raw record's "provider" header) to its adapter. Adding a provider is one line
// here plus its adapter file and fixtures.
var registry = map[string]Adapter{
	providers.Dash:       dash{},
	providers.KiriminAja: kiriminaja{},
	providers.Komerce:    komerce{},
	providers.Sendstack:  sendstack{},
}

// Providers lists the registered provider names.
func Providers() []string {
	out := make([]string, 0, len(registry))
	for name := range registry {
		out = append(out, name)
	}
	return out
}

// Normalize maps rec with the adapter registered for rec.Provider.
func Normalize(rec RawRecord) ([]Output, error) {
	a, ok := registry[rec.Provider]
	if !ok {
		return nil, &Error{Reason: ReasonUnknownProvider, Err: ErrUnknownProvider}
	}
	return a.Normalize(rec)
}
