package schemas

// Default topic names (DESIGN.md "Topics and keys"). Every service lets the operator
// override them; these are the defaults and the names the docs use.
const (
	// TopicRaw holds each accepted webhook body byte-exact, keyed by the shipment
	// reference the gateway could read cheaply, else by provider name.
	TopicRaw = "webhooks.raw.v1"
	// TopicRawDLQ holds raw records the normalizer could not parse or map, with the
	// original value, key and headers plus the reason headers below.
	TopicRawDLQ = "webhooks.raw.dlq.v1"
	// TopicCanonical holds canonical shipment-status events keyed "{provider}:{shipment id}".
	TopicCanonical = "shipments.status.v1"
	// TopicDispatchRetryPrefix prefixes the dispatcher's retry topics ("…retry.10s").
	TopicDispatchRetryPrefix = "shipments.dispatch.retry."
	// TopicDispatchDLQ holds deliveries that exhausted their retries.
	TopicDispatchDLQ = "shipments.dispatch.dlq.v1"
)

// Record header names. Values are UTF-8 strings.
const (
	// HeaderProvider is the provider route name: kiriminaja, dash, komerce, sendstack.
	HeaderProvider = "provider"
	// HeaderReceivedAt is when the gateway received the request, RFC 3339 with nanoseconds, UTC.
	HeaderReceivedAt = "received_at"
	// HeaderRequestID is the gateway's request id, also returned as X-Request-Id.
	HeaderRequestID = "request_id"
	// HeaderContentType is the request's Content-Type.
	HeaderContentType = "content_type"
	// HeaderAuth names the authentication variant that matched (e.g. "bearer",
	// "hmac-body", "url-token", "none").
	HeaderAuth = "auth"
	// HeaderHTTPPrefix prefixes selected request headers copied verbatim
	// ("http.user-agent"). Secrets (Authorization, signatures) are never copied.
	HeaderHTTPPrefix = "http."
	// HeaderSpooled is "true" on records that were spooled to disk during a broker
	// outage before reaching Kafka.
	HeaderSpooled = "spooled"

	// HeaderDLQReason is a machine-readable reason code on dead-lettered records
	// (e.g. "invalid_json", "unknown_provider", "missing_shipment_id").
	HeaderDLQReason = "dlq_reason"
	// HeaderDLQError is the human-readable error text on dead-lettered records.
	HeaderDLQError = "dlq_error"
	// HeaderDLQSource is "topic/partition/offset" of the record that failed.
	HeaderDLQSource = "dlq_source"
	// HeaderDLQAt is when the record was dead-lettered, RFC 3339 UTC.
	HeaderDLQAt = "dlq_at"
	// HeaderDLQService names the service that dead-lettered the record.
	HeaderDLQService = "dlq_service"
)

// Header names on canonical records (TopicCanonical): the contract the dispatcher
// and other consumers of the canonical topic read. They repeat envelope fields so a
// router need not decode the value; names follow the CloudEvents Kafka protocol
// binding's "ce_" prefix. Each canonical record also carries HeaderProvider (the
// event's data.provider). Values are UTF-8 strings.
const (
	// HeaderEventID is the CloudEvents id (deterministic: the same provider event
	// always has the same id); consumers deduplicate on it.
	HeaderEventID = "ce_id"
	// HeaderEventType is the CloudEvents type ("com.courierhook.shipment.status.v1").
	HeaderEventType = "ce_type"
	// HeaderEventSource is the CloudEvents source ("/providers/{provider}").
	HeaderEventSource = "ce_source"
	// HeaderEventContentType is the record's content type; its value is
	// ContentTypeCloudEvents (a structured-mode CloudEvent). Note the hyphen, as the
	// Kafka binding spells it, unlike the raw topic's HeaderContentType.
	HeaderEventContentType = "content-type"
	// HeaderStatus is the canonical status (data.status), e.g. "in_transit".
	HeaderStatus = "status"
	// HeaderAdvances is "true" or "false": whether the event advances the
	// shipment's state (data.advances).
	HeaderAdvances = "advances"
	// HeaderRawSource is "topic/partition/offset" of the raw record the event came from.
	HeaderRawSource = "raw_source"
)

// ContentTypeCloudEvents is the HeaderEventContentType value on canonical records.
const ContentTypeCloudEvents = "application/cloudevents+json; charset=UTF-8"
