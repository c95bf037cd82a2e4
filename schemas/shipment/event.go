// Package shipment defines the canonical shipment-status event: a CloudEvents 1.0
// JSON envelope whose data is a versioned shipment-status record. The JSON Schema
// (schema/shipment-status.v1.json, embedded as SchemaJSON) is the contract; these
// Go types are tested against it. Field names are snake_case in JSON.
package shipment

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// CloudEvents envelope constants.
const (
	SpecVersion     = "1.0"
	EventType       = "com.courierhook.shipment.status.v1"
	DataContentType = "application/json"
	// DataSchemaURI identifies the data schema version.
	DataSchemaURI = "https://courierhook.dev/schemas/shipment-status.v1.json"
	// DataVersion is Data.SchemaVersion for this version of the contract.
	DataVersion = 1
)

// Event is the canonical event on the canonical topic.
type Event struct {
	SpecVersion string `json:"specversion"`
	// ID is deterministic: the hex SHA-256 of the dedup key, so a redelivered webhook
	// yields the same id and consumers can dedup on it too.
	ID string `json:"id"`
	// Source is "/providers/{provider}".
	Source string `json:"source"`
	Type   string `json:"type"`
	// Subject is the shipment key "{provider}:{shipment id}", also the Kafka record key.
	Subject string `json:"subject"`
	// Time is when the status change happened: the provider's time when it gave one,
	// else when the gateway received the webhook.
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	DataSchema      string    `json:"dataschema"`
	// PartitionKey is the CloudEvents partitioning extension; equals Subject.
	PartitionKey string `json:"partitionkey"`
	Data         Data   `json:"data"`
}

// ServiceType is the kind of delivery service.
type ServiceType string

// Service types.
const (
	ServiceInstant  ServiceType = "instant"  // on-demand motorbike/car, minutes to hours
	ServiceSameDay  ServiceType = "same_day" // delivered the day it is picked up
	ServiceExpress  ServiceType = "express"  // parcel network (JNE, J&T, ...), days
	ServiceLogistic ServiceType = "logistic" // warehouse-staged delivery (Dash LOGISTIC)
	ServiceUnknown  ServiceType = "unknown"
)

// Data is the versioned shipment-status record.
type Data struct {
	SchemaVersion int `json:"schema_version"`
	// Provider is the route name: kiriminaja, dash, komerce, sendstack.
	Provider string `json:"provider"`
	// ProviderEvent is the provider's event discriminator verbatim (KiriminAja
	// method, Sendstack eventType, ...), when it has one.
	ProviderEvent string `json:"provider_event,omitempty"`
	// ShipmentID is the id in the event key: the provider's own order/delivery id.
	ShipmentID string `json:"shipment_id"`
	// OrderID is the provider order id (often equal to ShipmentID).
	OrderID string `json:"order_id,omitempty"`
	// MerchantOrderID is the id the merchant gave the provider (Dash providerOrderID), when known.
	MerchantOrderID string `json:"merchant_order_id,omitempty"`
	// TrackingNumber is the AWB / cnote / tracking id, when known.
	TrackingNumber string `json:"tracking_number,omitempty"`
	// Service is the courier service (e.g. "jne", "gosend", "EXPRESS"), verbatim.
	Service     string      `json:"service,omitempty"`
	ServiceType ServiceType `json:"service_type"`

	Status    Status `json:"status"`
	SubStatus string `json:"sub_status"`
	// ProviderStatus is the provider's status verbatim (a string even when numeric).
	ProviderStatus string `json:"provider_status"`
	// Terminal is true when this provider status ends the shipment's life.
	Terminal bool `json:"terminal"`
	// Advances is false when the normalizer already saw a later state for this
	// shipment (out-of-order delivery): the event is news, but consumers must not
	// move the shipment back to this status.
	Advances bool `json:"advances"`

	// OccurredAt is the provider's event time in UTC, when the provider gave one.
	OccurredAt *time.Time `json:"occurred_at,omitempty"`
	// OccurredAtRaw is the provider's time string verbatim.
	OccurredAtRaw string `json:"occurred_at_raw,omitempty"`
	// ReceivedAt is when the gateway received the webhook (UTC).
	ReceivedAt time.Time `json:"received_at"`

	Courier     *Courier `json:"courier,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	Proof       []Media  `json:"proof,omitempty"`
	TrackingURL string   `json:"tracking_url,omitempty"`
	Origin      *Place   `json:"origin,omitempty"`
	Destination *Place   `json:"destination,omitempty"`
	Amounts     *Amounts `json:"amounts,omitempty"`

	// Inferred is true when the provider named no known status, method or event
	// type and the adapter inferred Status from an unambiguous signal in the body
	// (a finished_at / failedAt / canceled_at time, a known status code, a
	// failed-attempt reason). Consumers may treat such events with less trust.
	Inferred bool `json:"inferred,omitempty"`
	// ReceivedBy is who received the parcel (proof-of-delivery signer or name),
	// when the provider says (Dash recipient.actualRecipientName).
	ReceivedBy string `json:"received_by,omitempty"`
	// Attempt is the delivery attempt this event belongs to (1 = first), when
	// the provider counts attempts (Dash failedCount). Zero means not known.
	Attempt int `json:"attempt,omitempty"`
	// PickedUpAt is when the courier picked the parcel up (UTC), when the provider says.
	PickedUpAt *time.Time `json:"picked_up_at,omitempty"`
	// PickupWindow and DeliveryWindow are the provider's promised windows (ETA).
	PickupWindow   *Window `json:"pickup_window,omitempty"`
	DeliveryWindow *Window `json:"delivery_window,omitempty"`

	// Corrects is the id of an earlier event of this shipment that this event
	// replaces: set only on events emitted by `normalizer renormalize` when the
	// current adapters map a raw record differently than when it was first
	// processed. The correction has its own id (derived from the original dedup key
	// and the new mapping), so consumers that dedup on id still see it once.
	Corrects string `json:"corrects,omitempty"`

	// Raw points at the raw record this event came from.
	Raw RawRef `json:"raw"`
}

// Courier is the courier company and/or driver carrying the parcel.
type Courier struct {
	Company  string `json:"company,omitempty"`
	Name     string `json:"name,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Vehicle  string `json:"vehicle,omitempty"`
	PhotoURL string `json:"photo_url,omitempty"`
}

// Media is a proof (pickup, delivery, failure) photo or signature.
type Media struct {
	Kind string `json:"kind"` // pickup_proof | delivery_proof | failed_proof | other
	URL  string `json:"url"`
	// TakenAt is when the proof was captured (UTC), when the provider says.
	TakenAt *time.Time `json:"taken_at,omitempty"`
}

// Window is a promised time window (UTC); either end may be unknown.
type Window struct {
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
}

// Place is an origin or destination. Coordinates are optional.
type Place struct {
	Name       string   `json:"name,omitempty"`
	Phone      string   `json:"phone,omitempty"`
	Address    string   `json:"address,omitempty"`
	City       string   `json:"city,omitempty"`
	PostalCode string   `json:"postal_code,omitempty"`
	Latitude   *float64 `json:"latitude,omitempty"`
	Longitude  *float64 `json:"longitude,omitempty"`
}

// Amounts are money values as decimal strings in the currency's major unit
// ("12500", "1500.50"), so no float rounding creeps in.
type Amounts struct {
	Currency     string `json:"currency,omitempty"` // ISO 4217: IDR, NGN
	ShippingCost string `json:"shipping_cost,omitempty"`
	COD          string `json:"cod,omitempty"`
	ItemValue    string `json:"item_value,omitempty"`
}

// RawRef points at the raw record on the raw topic.
type RawRef struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
	RequestID string `json:"request_id,omitempty"`
}

// Key returns the Kafka record key of a shipment's events: "{provider}:{shipment id}".
func Key(provider, shipmentID string) string { return provider + ":" + shipmentID }

// EventID derives the deterministic event id from a dedup key.
func EventID(dedupKey string) string {
	sum := sha256.Sum256([]byte(dedupKey))
	return hex.EncodeToString(sum[:16])
}

// Source returns the CloudEvents source of a provider.
func Source(provider string) string { return "/providers/" + strings.ToLower(provider) }
