// Package e2e is the end-to-end proof machinery behind `make bench` and `make
// chaos` (issue 7): it runs the three built service binaries as child processes
// against a real Kafka and Redis with topics, groups and Redis prefixes unique to
// the run, drives a realistic mix of provider webhooks through the gateway (every
// seed payload family, shipment ids rewritten per request, ~10% duplicate
// deliveries, some out-of-order pairs), receives the dispatcher's signed HTTP
// deliveries on a local sink, tails the raw and canonical topics, and reconciles
// what was acknowledged with what came out (Audit).
//
// Files: workload.go (templates, id rewriting, the request mix), driver.go (fixed
// rate or max load, ack latencies), receiver.go (the HTTP receiver, a deployments/internal/receiver), observe.go
// (topic tailers), proc.go and pipeline.go (service processes, /proc figures),
// infra.go (stopping and restarting the chaos Kafka and Redis), audit.go, bench.go
// and chaos.go (the two reports).
package e2e
