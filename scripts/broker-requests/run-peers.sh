#!/usr/bin/env bash
# run-peers.sh: runs the side-by-side harness (/work/shared/peers/pipeline/run.sh, read only) with the
# Kafka broker's JMX agent on 127.0.0.1:$JMX_PORT, samples the broker's request counters beside it
# (BrokerRequests.java) until run.sh exits, then prints the broker requests per accepted webhook by API
# key, per pipeline and step (table.sh), also written to $RUN_DIR/broker-requests.txt.
#
#   COURIERHOOK_SRC=/work/main PIPELINES=courierhook RATES=500 DUR=5 CLOSED=0 WARM_RATE=500 WARM_DUR=3 \
#     IDLE_S=5 scripts/broker-requests/run-peers.sh
#
# Every knob of run.sh passes through the environment (RATES DUR CLOSED PIPELINES COURIERHOOK_SRC
# WARM_* IDLE_S PEERS_WORK RUN_DIR ...). Own knobs: JMX_PORT (37990), INTERVAL_MS (500, sampling
# period), PEERS_RUN (the harness script).
#
# How JMX reaches only the broker: a `java` shim (shim/java) is put first on PATH; it adds the JMX flags
# to JAVA_TOOL_OPTIONS only when the main class is kafka.Kafka and then execs the real java, so the
# StorageTool runs and maven never bind the port and run.sh still owns the broker's PID. The sampler
# itself runs with JAVA_TOOL_OPTIONS unset. Only processes this script started are stopped, by PID.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS_RUN=${PEERS_RUN:-/work/shared/peers/pipeline/run.sh}
W=${PEERS_WORK:-${TMPDIR:-/tmp}/peers}
export RUN_DIR=${RUN_DIR:-$W/pipeline.$(date +%Y%m%d-%H%M%S)}
export IDLE_S=${IDLE_S:-10}
JMX_PORT=${JMX_PORT:-37990}; INTERVAL_MS=${INTERVAL_MS:-500}
: "${COURIERHOOK_SRC:?set COURIERHOOK_SRC to the project checkout}"

if (exec 3<>"/dev/tcp/127.0.0.1/$JMX_PORT") 2>/dev/null; then
  echo "run-peers: JMX port $JMX_PORT is in use; set JMX_PORT" >&2; exit 1
fi
REAL_JAVA=$(command -v java) || { echo "run-peers: no java on PATH" >&2; exit 1; }
export BROKER_REQUESTS_REAL_JAVA=$REAL_JAVA
export BROKER_REQUESTS_JMX_OPTS="-Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.host=127.0.0.1
 -Dcom.sun.management.jmxremote.port=$JMX_PORT -Dcom.sun.management.jmxremote.rmi.port=$JMX_PORT
 -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false
 -Djava.rmi.server.hostname=127.0.0.1"
BROKER_REQUESTS_JMX_OPTS=$(echo $BROKER_REQUESTS_JMX_OPTS)   # one line
mkdir -p "$RUN_DIR"
echo "run-peers: run dir $RUN_DIR, broker JMX on 127.0.0.1:$JMX_PORT"

# the sampler: started before run.sh (it waits up to 30 min for the broker: the first run builds Benthos)
env -u JAVA_TOOL_OPTIONS "$REAL_JAVA" "$HERE/BrokerRequests.java" -port "$JMX_PORT" -interval-ms "$INTERVAL_MS" \
  -wait-s 1800 -out "$RUN_DIR/broker-requests.csv" 2> "$RUN_DIR/broker-requests.log" &
SAMPLER=$!
stop_sampler() {
  [ -n "${SAMPLER:-}" ] || return 0
  kill -TERM "$SAMPLER" 2>/dev/null || true
  wait "$SAMPLER" 2>/dev/null || true
  SAMPLER=
}
trap stop_sampler EXIT

rc=0
PATH="$HERE/shim:$PATH" "$PEERS_RUN" || rc=$?
stop_sampler

if [ "$rc" != 0 ]; then echo "run-peers: run.sh exited $rc; samples in $RUN_DIR/broker-requests.csv" >&2; exit "$rc"; fi
# the broker must have picked the flags up (the JVM prints this line first on stderr)
if ! grep -q "Picked up JAVA_TOOL_OPTIONS: .*jmxremote.port=$JMX_PORT" "$RUN_DIR/kafka.log" 2>/dev/null; then
  echo "run-peers: the broker did not pick up the JMX flags (no 'Picked up JAVA_TOOL_OPTIONS' in $RUN_DIR/kafka.log)" >&2
  exit 1
fi
"$HERE/table.sh" "$RUN_DIR" | tee "$RUN_DIR/broker-requests.txt"
