// Package inflight closes the normalizer's "produced but not yet marked" window.
//
// The dedup mark is written after the canonical events are acknowledged by Kafka
// (DESIGN.md: never drop). A crash, a failed write whose records did land, or a
// rebalance between the produce and the mark would let a redelivered raw record
// produce its events a second time. To prevent that, before producing a batch the
// consumer claims every raw partition in it: a small Redis record (Claim) saying
// "owner X may have produced events for this raw partition; the canonical topic
// ended at these offsets (or later) when it started". The claim is released after
// the marks are written.
//
// Whoever next handles that raw partition and finds a claim:
//   - held by another live owner (younger than the lease): waits, because that
//     owner may still be producing (a rebalance moved the partition mid-batch);
//   - its own, or older than the lease (the owner crashed or gave up): reads the
//     canonical topic from the claim's offsets to its end (Scanner) and marks the
//     CloudEvents id of every record there as produced, then drops the claim and
//     starts the batch again. Marking everything found is always correct: a record
//     in the canonical topic has been produced, whoever produced it.
//
// The remaining assumption is the lease: a holder must finish producing within it
// (the consumer gives up an attempt that took longer than half the lease before it
// writes). Kafka's own retries are off for the same reason: a retry whose first try
// landed would be a duplicate only the scan can see.
package inflight
