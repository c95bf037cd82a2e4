// Package consume is the normalizer's consumer loop: it reads raw webhook records
// from a consumer group in batches, maps them with the adapters, drops events
// already produced (dedup), decides per shipment whether each event advances it
// (state), produces the canonical events and the dead letters in one Kafka write,
// marks the dedup keys, and only then commits the offsets.
//
// Per batch, in order (DESIGN.md, STYLE.md G13):
//
//	map + encode → [claim raw partitions (inflight) → dedup check → read state]
//	→ produce → [MULTI write state, mark dedup, release claims EXEC] → commit
//
// Each bracket is one Redis round trip; the next batch's first bracket rides on
// this batch's second one, after it. A batch holding repeatable events (whose
// identity the shipment state qualifies, see state.Arrive) checks their
// qualified ids in one more round trip after the state read. Mapping the next batch and committing the
// previous one overlap with the current batch's Redis and Kafka work.
//
// Any failure before the commit is transient (Kafka, Redis): the whole batch is
// retried with exponential backoff and nothing is committed until it succeeds.
// Mapping failures are permanent: the record goes to the raw dead-letter topic in
// the same write and its partition moves on. The dependencies are the small
// interfaces in deps.go; their Kafka and Redis implementations live in
// platform/broker, dedup, state and inflight.
//
// Files, by role:
//
//	consumer.go    Config, Deps, New
//	run.go         the run loop: fetch, collect + prepare, handle (retry with backoff), commit, metrics
//	attempt.go     one attempt of a batch: decide, build the records, produce, final transaction
//	begin.go       the first round trip (claim, dedup check, state read) and stale-claim recovery
//	step.go        Step and StepError: which step of an attempt failed (the retry metric's label)
//	batch.go       prepare: map and encode a batch before it touches Redis or Kafka
//	identity.go    decide: qualified ids of repeatable events, data.advances
//	encode.go      canonical JSON (encoding/json) with data.advances spliced in later
//	record_in.go   raw records in: adapter input, panics, dead parts
//	record_out.go  records out: canonical records, dead letters, the consumer's dead-letter reasons
//	deps.go        the interfaces the consumer needs
//	metrics.go     Prometheus series
package consume
