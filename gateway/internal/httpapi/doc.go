// Package httpapi is the gateway's webhook HTTP surface (echo v4): one generic
// handler serves every row of the provider table under /webhooks/<provider>
// (and /webhooks/<provider>/<url-token>), in a fixed order of checks: unknown
// provider 404, wrong method 405, body over the limit 413, failed auth 401, not
// JSON 400; then the raw body becomes a Kafka record and is acknowledged only
// once durable. Every error is a short JSON body {"error", "request_id"}.
package httpapi
