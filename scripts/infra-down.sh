#!/usr/bin/env bash
# Stops exactly the Kafka and Redis processes scripts/infra-up.sh started (their PIDs
# are in .infra/*.pid). Kafka gets SIGTERM and up to 30 s for a clean shutdown.
# INFRA_KEEP_DATA=1 keeps Kafka's data directory; by default it is removed so the
# next start is fresh.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
infra=${INFRA_DIR:-$root/.infra}

stop() {
  local name=$1 pidfile="$infra/$1.pid"
  [ -f "$pidfile" ] || { echo "[infra-down] $name: not started by infra-up"; return; }
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "[infra-down] $name (pid $pid) stopped"
  else
    echo "[infra-down] $name (pid $pid) was not running"
  fi
  rm -f "$pidfile"
}

stop kafka
stop redis
if [ "${INFRA_KEEP_DATA:-0}" != 1 ]; then rm -rf "$infra/kafka/data"; fi
