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
// interfaces below; their Kafka and Redis implementations live in platform/broker,
// dedup, state and inflight.
package consume
