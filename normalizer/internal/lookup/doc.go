// Package lookup answers "what happened to this webhook / this shipment?" in one
// Redis round trip, from an index the live consumer writes beside its state.
//
// The index (Index, written through Batch inside the consumer's final MULTI) keeps,
// for StateTTL like the shipment state:
//
//   - per request id, a hash "{prefix}lw:{request id}": field "m" is where the raw
//     record is (topic/partition/offset, received_at, provider, auth variant,
//     redriven_from), one field "e:{event id}" per canonical event it produced, and
//     "dlq" its last dead-letter reason. Fields merge, so a redelivered record adds
//     nothing and a redriven one keeps its dead-letter history;
//   - per shipment, a list "{prefix}ls:{provider}:{shipment id}" of its most recent
//     canonical events (newest first, capped).
//
// Nothing in the index is payload data: ids, statuses, times and locations. The
// raw body is read from the raw topic only when asked for (?include=raw).
//
// Handler serves the read-only HTTP API (GET /v1/shipments/{provider}/{shipment_id},
// GET /v1/webhooks/{request_id}) and Client is the CLI's side of it.
package lookup
