// Package state keeps what the normalizer knows about each shipment: whether an
// event advances it, what its current status is, and the arrival-order epoch
// that tells a repeatable event's real repeat from a re-delivery. It stores the
// state in Redis.
//
// The rule (Apply) is pure and documented there and in normalizer/README.md:
// the state is a join over the set of events applied, so it cannot depend on
// their arrival order. The Redis store reads and writes the state of a whole
// fetched batch in one pipelined round trip each way; the consumer computes the
// transitions in Go, in raw-record order.
package state
