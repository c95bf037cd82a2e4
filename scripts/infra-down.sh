#!/usr/bin/env bash
# Stops exactly the Kafka and Redis processes scripts/infra-up.sh started (their PIDs
# are in .infra/*.pid). Kafka gets SIGTERM and up to 30 s for a clean shutdown.
# INFRA_KEEP_DATA=1 keeps Kafka's data directory; by default it is removed so the
# next start is fresh. INFRA_ONLY ("kafka redis") stops only the named ones. Exits
# non-zero when a process it was asked to stop is still alive afterwards.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
infra=${INFRA_DIR:-$root/.infra}
only=${INFRA_ONLY:-kafka redis}
rc=0

stop() {
  local name=$1 pidfile="$infra/$1.pid"
  [ -f "$pidfile" ] || { echo "[infra-down] $name: not started by infra-up"; return; }
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid"; sleep 0.5
    fi
    if kill -0 "$pid" 2>/dev/null; then
      echo "[infra-down] $name (pid $pid) is still running" >&2; rc=1; return
    fi
    echo "[infra-down] $name (pid $pid) stopped"
  else
    echo "[infra-down] $name (pid $pid) was not running"
  fi
  rm -f "$pidfile" "$infra/$name.addr"
}

case " $only " in *" kafka "*)
  stop kafka
  if [ "${INFRA_KEEP_DATA:-0}" != 1 ]; then rm -rf "$infra/kafka/data"; fi ;;
esac
case " $only " in *" redis "*) stop redis ;; esac
exit $rc
