// Package state keeps the per-shipment state the normalizer needs to tell whether
// an event advances a shipment or arrived out of order, and stores it in Redis.
//
// The decision (Shipment.Apply) is pure and documented there. The Redis store
// reads and writes the state of a whole fetched batch in one pipelined round trip
// each way; the consumer computes the transitions in Go, in raw-record order.
package state
