// Package app is the dispatcher's composition root and runtime: it loads the
// routes file, builds the sinks, and runs one consumer on the canonical topic plus
// one per retry tier, all feeding one delivery engine.
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
package app
