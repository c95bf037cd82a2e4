#!/usr/bin/env bash
# Benchmark the gateway with real Kafka vs. publishing disabled, in one run.
# Usage (from gateway/): KAFKA_BROKERS=127.0.0.1:9092 ROUNDS=3 scripts/bench.sh [duration]
# Besides loadgen's figures it prints, per max-throughput run, the CPU used by the
# gateway and by the Kafka broker (pid from KAFKA_PID, else the process listening
# on the first broker's port) per request, and the producer's batch size.
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
cleanup() {
  "$OUT/loadgen" -delete-topic "$GATEWAY_RAW_TOPIC" || echo "could not delete topic $GATEWAY_RAW_TOPIC" >&2
  rm -rf "$OUT"
}
trap cleanup EXIT
FIRST_BROKER=${KAFKA_BROKERS%%,*}
BROKER_PID=${KAFKA_PID:-$(ss -ltnpH "sport = :${FIRST_BROKER##*:}" 2>/dev/null | grep -oP 'pid=\K[0-9]+' | head -1 || true)}

ticks() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && awk '{print $14+$15}' "/proc/$1/stat" || echo 0; }
# cpu_line label pid n t0 g0 b0: CPU per request of the gateway and the broker since (g0, b0).
cpu_line() {
  local hz; hz=$(getconf CLK_TCK)
  awk -v g=$(( $(ticks "$2") - $5 )) -v b=$(( $(ticks "$BROKER_PID") - $6 )) -v n="$3" -v d="$(echo "$(date +%s.%N) - $4" | bc)" -v hz="$hz" \
    'BEGIN { if (n == 0) n = 1; printf "cpu: gateway %.0f%% %.1f us/req, broker %.0f%% %.1f us/req (of 200%% on 2 cores)\n", 100*g/hz/d, 1e6*g/hz/n, 100*b/hz/d, 1e6*b/hz/n }'
}

run_mode() { # $1 = label, $2 = GATEWAY_PUBLISH
  GATEWAY_PUBLISH=$2 GATEWAY_SPOOL_DIR="$OUT/spool-$1" "$OUT/gateway" 2>"$OUT/$1.log" &
  local pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:19091/readyz >/dev/null && break; sleep 0.1; done
  # warm-up (connections, topic metadata) — not reported
  "$OUT/loadgen" -url http://127.0.0.1:18080 -concurrency 32 -duration 3s >/dev/null
  echo "=== $1: max throughput (load average $(cut -d' ' -f1 /proc/loadavg))"
  local t0 g0 b0; t0=$(date +%s.%N); g0=$(ticks $pid); b0=$(ticks "$BROKER_PID")
  "$OUT/loadgen" -url http://127.0.0.1:18080 -concurrency 64 -duration "$DUR" | tee "$OUT/max.txt"
  cpu_line "$1" $pid "$(grep -oP 'requests: \K[0-9]+' "$OUT/max.txt")" "$t0" "$g0" "$b0"
  echo "=== $1: 1000 req/s";                "$OUT/loadgen" -url http://127.0.0.1:18080 -rate 1000 -concurrency 64 -duration "$DUR"
  echo "=== $1: 1000 req/s, -gzip";         "$OUT/loadgen" -url http://127.0.0.1:18080 -rate 1000 -concurrency 64 -duration "$DUR" -gzip -pid $pid
  curl -s http://127.0.0.1:19091/metrics | grep -E '^gateway_(ack_latency_seconds_count|spool_records|publish_errors_total|kafka_produce_records_(sum|count))' || true
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
