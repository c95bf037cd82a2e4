// Package sink delivers one canonical event to one destination: a Kafka topic
// (Kafka), a signed Standard Webhooks HTTP endpoint (HTTP) or a
// Slack-compatible chat incoming webhook (Chat).
//
// Every sink has one method, Deliver(ctx, Delivery) error, makes exactly one
// attempt, and sorts its failures: an error wrapped by Permanent (a 4xx other
// than 408/429, a payload the destination can never accept) must not be retried;
// every other error is retryable. Retries, breakers and concurrency belong to the
// caller (internal/deliver), so each sink stays a plain client. All sinks pass one
// contract suite (contract_test.go).
package sink
