// Package app is the gateway's composition root: Config (from the environment
// and an optional providers file), New (builds the Kafka writer, spool,
// publisher, HTTP server and ops server) and Run (serves until the context ends,
// then shuts down in order: readiness off, drain HTTP, stop the forwarder, flush
// the writer, close the spool).
package app
