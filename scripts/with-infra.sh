#!/usr/bin/env bash
# Runs a command (make test's module loop) with a real Kafka and a real Redis, setting
# them up first when nothing provides them, and stopping exactly what it started
# afterwards: on success, on failure and on Ctrl-C/SIGTERM alike.
#
# Where each of Kafka and Redis comes from, in order:
#   1. KAFKA_BROKERS / REDIS_ADDR already set by the caller: used as they are;
#   2. a server `make infra-up` started and still running (.infra/<name>.pid alive):
#      used and left running;
#   3. a Docker engine that answers: left to testcontainers (platform/testkit);
#   4. otherwise started here by scripts/infra-up.sh (installing what is missing) in
#      its own directory (.infra/test-run), on the default port when it is free and on
#      a free port otherwise, and stopped by scripts/infra-down.sh when the command ends.
#
# Usage: scripts/with-infra.sh COMMAND [ARG...]
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${TEST_INFRA_DIR:-$root/.infra/test-run}
log() { printf '[with-infra] %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# free_port PREFERRED: PREFERRED when nothing listens there, else a free port above 20000.
free_port() {
  local p=$1
  if ! port_open "$p"; then echo "$p"; return; fi
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    port_open "$p" || { echo "$p"; return; }
  done
  echo "no free port found" >&2; return 1
}

# from_infra_up NAME DEFAULT: the address of a server `make infra-up` runs, if any.
from_infra_up() {
  if pid_alive "$root/.infra/$1.pid"; then
    cat "$root/.infra/$1.addr" 2>/dev/null || echo "$2"
  fi
}

docker_answers() {
  command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

need=""
if [ -z "${KAFKA_BROKERS:-}" ]; then
  a=$(from_infra_up kafka 127.0.0.1:9092)
  if [ -n "$a" ]; then export KAFKA_BROKERS=$a; log "Kafka: the one make infra-up runs ($a)"; else need="kafka"; fi
fi
if [ -z "${REDIS_ADDR:-}" ]; then
  a=$(from_infra_up redis 127.0.0.1:6379)
  if [ -n "$a" ]; then export REDIS_ADDR=$a; log "Redis: the one make infra-up runs ($a)"; else need="$need redis"; fi
fi
need=${need# }

started=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$started" ]; then
    log "stopping what this run started: $started"
    if ! INFRA_DIR=$run_dir INFRA_ONLY="$started" bash "$root/scripts/infra-down.sh"; then
      log "could not stop everything it started (see above)"
      [ "$rc" = 0 ] && rc=1
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "$need" ]; then
  if docker_answers; then
    log "no ${need// / or } configured; a Docker engine answers, so the tests start containers (testcontainers)"
  else
    log "no ${need// / or } configured and no Docker engine: starting $need for this run ($run_dir)"
    kport=$(free_port 9092) || exit 1
    cport=$(free_port 9093) || exit 1
    rport=$(free_port 6379) || exit 1
    started=$need
    INFRA_DIR=$run_dir INFRA_ONLY="$need" KAFKA_PORT=$kport KAFKA_CONTROLLER_PORT=$cport REDIS_PORT=$rport \
      bash "$root/scripts/infra-up.sh" || { log "starting $need failed"; exit 1; }
    case " $need " in *" kafka "*) export KAFKA_BROKERS=127.0.0.1:$kport ;; esac
    case " $need " in *" redis "*) export REDIS_ADDR=127.0.0.1:$rport ;; esac
  fi
fi

# Without a terminal (CI), the command runs as a background job in its own
# process group (set -m) and is waited for, so a signal sent to this script alone
# (a CI runner's cancel: SIGTERM) stops the command at once, and the servers
# after it: bash runs a trap only between commands, so a foreground command would
# first run to its end. The signal is passed on to the command's whole group
# (make and the test binaries). On a terminal the command stays in the
# foreground, where Ctrl-C and a hang-up reach the whole group (a background job
# would be stopped by the terminal when it writes with `stty tostop`).
if tty -s 2>/dev/null; then
  "$@"
  exit
fi
child=""
stop_child() {
  if [ -n "$child" ]; then
    kill "-$1" -- "-$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  exit "$2"
}
trap 'stop_child INT 130' INT
trap 'stop_child TERM 143' TERM
trap 'stop_child HUP 129' HUP
trap 'stop_child QUIT 131' QUIT
set -m
"$@" &
child=$!
wait "$child"
