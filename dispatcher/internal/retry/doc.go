// Package retry holds the dispatcher's retry and dead-letter contract: the delay
// tiers and their topic names, the record headers a handed-off delivery carries,
// and the Publisher that writes a failed delivery durably to the next tier or,
// after the last tier, to the dispatch dead-letter topic.
//
// A retry record's value is the canonical event bytes exactly as read from the
// canonical topic, and its key the canonical key; everything about the delivery
// (sink, attempt, idempotency id, first failure, last error, not-before) travels
// in headers, so a DLQ record can be replayed without unwrapping anything.
package retry
