// Package adapter turns one raw provider webhook body into zero or more canonical
// shipment events (schemas/shipment.Event).
//
// One file per payload family (kiriminaja_express.go, kiriminaja_instant.go,
// dash.go, komerce.go, sendstack.go) holds that family's payload structs, its
// mapping table and its mapping function; registry.go holds the one table from
// provider route name to adapter. Adapters are pure: no I/O, no clock reads, no
// globals beyond their mapping tables, so the same raw record always yields the
// same events, byte for byte, and redeliveries dedup on Output.DedupKey.
//
// Tolerance rules shared by every adapter (see decode.go): unknown fields are
// ignored; numbers may arrive as strings and strings as numbers; provider times
// are read in the formats the providers use, zone-less ones as Asia/Jakarta
// (UTC+7), and placeholders such as "0000-00-00 00:00:00" mean "no time"; an
// unknown provider status becomes shipment.StatusUnknown with sub_status
// "unknown.unmapped" and is never dropped. What cannot be mapped at all returns
// an *Error whose Reason becomes the dead-letter reason header.
//
// Usage:
//
//	outs, err := adapter.Normalize(adapter.RawRecord{Provider: "dash", Body: body, ReceivedAt: t})
//	if err != nil {
//		reason := adapter.ReasonOf(err) // "invalid_json", "missing_shipment_id", ...
//	}
package adapter
