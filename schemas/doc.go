// Package schemas is the contract of the courier webhook pipeline: topic and
// record-header names, and (in package shipment) the canonical shipment-status
// event with its JSON Schema and status vocabulary. It imports nothing of ours;
// every service and every downstream consumer may import it.
package schemas
