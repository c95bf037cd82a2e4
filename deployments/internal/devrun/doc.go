// Package devrun is the one-command local launcher behind `make run`. It starts an
// in-process Kafka-protocol broker (franz-go's kfake) and an in-process Redis
// (miniredis) unless KAFKA_BROKERS / REDIS_ADDR point at real ones, creates the
// topics, starts the gateway, normalizer and dispatcher binaries as child processes
// in their own process groups with their output interleaved under a per-service
// prefix, waits until every service's /readyz answers, and on cancel stops them in
// a fixed order: SIGTERM to each child's process group, a bounded wait, SIGKILL to
// what is left, then the broker and Redis. Nothing it started outlives it.
//
// It is a development tool: kfake keeps everything in memory, so records and
// consumer offsets are gone when devrun stops.
package devrun
