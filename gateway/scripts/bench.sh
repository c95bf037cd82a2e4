#!/usr/bin/env bash
# Benchmark the gateway with real Kafka vs. publishing disabled, in one run.
# Usage (from gateway/): KAFKA_BROKERS=127.0.0.1:9092 ROUNDS=2 scripts/bench.sh [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-15s}
OUT=$(mktemp -d)
go build -o "$OUT/gateway" ./cmd/gateway
go build -o "$OUT/loadgen" ./cmd/loadgen
export GATEWAY_KIRIMINAJA_API_KEY=bench-kj GATEWAY_DASH_AUTH_HEADER=X-Dash-Token GATEWAY_DASH_AUTH_VALUE=bench-dash \
       GATEWAY_KOMERCE_TOKEN=bench-komerce GATEWAY_SENDSTACK_APP_SECRET=bench-ss
export GATEWAY_ADDR=127.0.0.1:18080 GATEWAY_OPS_ADDR=127.0.0.1:19091 LOG_LEVEL=warn
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
export GATEWAY_RAW_TOPIC=bench.raw.$(date +%s)

run_mode() { # $1 = label, $2 = GATEWAY_PUBLISH
  GATEWAY_PUBLISH=$2 GATEWAY_SPOOL_DIR="$OUT/spool-$1" "$OUT/gateway" 2>"$OUT/$1.log" &
  local pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:19091/readyz >/dev/null && break; sleep 0.1; done
  # warm-up (connections, topic metadata, JIT of nothing: Go) — not reported
  "$OUT/loadgen" -url http://127.0.0.1:18080 -concurrency 32 -duration 3s >/dev/null
  echo "=== $1: max throughput";            "$OUT/loadgen" -url http://127.0.0.1:18080 -concurrency 64 -duration "$DUR"
  echo "=== $1: 1000 req/s";                "$OUT/loadgen" -url http://127.0.0.1:18080 -rate 1000 -concurrency 64 -duration "$DUR"
  echo "=== $1: 1000 req/s, -gzip";         "$OUT/loadgen" -url http://127.0.0.1:18080 -rate 1000 -concurrency 64 -duration "$DUR" -gzip -pid $pid
  curl -s http://127.0.0.1:19091/metrics | grep -E '^gateway_(ack_latency_seconds_count|spool_records|publish_errors_total)' || true
  kill -TERM $pid; wait $pid || true
  echo "gateway warnings/errors logged: $(grep -c '"level":"\(warn\|error\)"' "$OUT/$1.log" || true)"
  grep -m3 '"level":"\(warn\|error\)"' "$OUT/$1.log" | cut -c1-300 || true
}
# Modes alternate so machine noise (other processes) hits both alike.
for round in $(seq "${ROUNDS:-1}"); do
  echo "##### round $round  (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  run_mode kafka true
  run_mode disabled false
done
rm -rf "$OUT"
