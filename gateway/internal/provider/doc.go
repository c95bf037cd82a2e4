// Package provider holds the gateway's per-provider knowledge as rows of one
// table: route name, allowed methods, whether the body must be JSON, how to read
// the record key cheaply, and which auth preset checks the request. Adding a
// provider is one row in Table plus its key function and fixtures under testdata/.
package provider
