// Package provider holds the gateway's per-provider knowledge as rows of one
// table: route name (a schemas/providers constant), allowed methods, whether
// the body must be JSON, how to read the record key cheaply, which auth preset
// checks the request, how a client signs one (Sign, NewRequest) and its demo
// secrets (Demo; package gateway/client exports this client side). A row's
// secrets come from its GATEWAY_<NAME>_* variables (SecretsFromEnv) or the
// providers file (LoadFile). Adding a provider is one row in Table plus its key
// function; the seed payloads live in schemas/providers/seed.
package provider
