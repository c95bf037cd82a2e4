// Package deliver is the dispatcher's delivery runtime: one Consumer on the
// canonical topic plus one per retry tier, all feeding one Engine, with offsets
// committed by a Tracker only once every delivery of a record is done. Service
// ties them together and owns the shutdown order; the dispatcher's app builds
// the sinks, the retry publisher and the ops server and hands them in.
//
// Per record: the routes pick a set of sinks; each (record, sink) delivery goes
// to that sink's lane (lane = hash(key) mod concurrency, so one shipment's events
// reach a sink in order while nothing fails). A lane makes one attempt under the
// sink's timeout and circuit breaker. A failed attempt, an attempt refused by an
// open breaker, or a delivery that finds its lane's queue full is written to the
// next retry topic; only then does it count as done. A record's offset becomes
// committable when all its deliveries are done, and each partition commits its
// contiguous done prefix in batches (tracker.go). A hanging sink therefore holds
// at most concurrency×(queue+1) deliveries; everything past that is handed off at
// once, and other sinks on the same partition keep flowing.
//
// Files: service.go (run loop and shutdown order), consumer.go (fetch, route,
// commit), delayed.go (per-partition waits of tier records), engine.go (lanes,
// breaker, hand-off), tracker.go (done prefix per partition), metrics.go.
package deliver
