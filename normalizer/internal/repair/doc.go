// Package repair re-processes what already went through the normalizer, with the
// current adapters, without ever joining the live consumer group:
//
//   - Redriver reads the raw dead-letter topic (bounded: the offsets at start,
//     optionally a dead-letter time window), maps each record with the current
//     adapters and produces the ones that now map back to the raw topic, byte-exact
//     (original key, value and headers minus dlq_*, plus redriven_from). The live
//     normalizer then processes them like any webhook; its dedup makes each
//     resulting canonical event appear once even when a redrive is interrupted and
//     run again. A Redis mark per redriven dead letter keeps a second run from
//     sending it again.
//   - Renormalizer reads a time range of the raw topic with plain partition reads,
//     compares the current mapping with what the lookup index says was emitted
//     for each request id, and emits a correction event (its own id, data.corrects
//     naming the replaced event) only where they differ. Progress is checkpointed
//     in Redis per run range, so an interrupted run resumes.
package repair
