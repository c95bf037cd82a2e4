// Package dedup remembers which canonical events were already produced, in Redis,
// keyed by the deterministic CloudEvents id (shipment.EventID of the adapter's
// dedup key). Lookups and marks for a whole batch go in one pipelined round trip.
//
// A mark is written only after the event is durably in Kafka, so a crash between
// the two can never drop an event; see the inflight package for how the
// normalizer also closes the "produced but not yet marked" window.
package dedup
