#!/usr/bin/env bash
# Starts a real single-node Apache Kafka (KRaft) on 127.0.0.1:9092 and a Redis server on
# 127.0.0.1:6379 without Docker, installing what is missing, and waits until both answer.
# PIDs go to .infra/*.pid so scripts/infra-down.sh stops exactly these processes.
#
# Knobs: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), REDIS_PORT (6379),
#        KAFKA_HEAP (512m), INFRA_DIR (<repo>/.infra), INFRA_ONLY ("kafka redis": start only
#        the named ones), KAFKA_LIBS (<repo>/.infra/kafka-libs: the jar cache, shared by
#        every INFRA_DIR). Each started server's address goes to $INFRA_DIR/<name>.addr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
infra=${INFRA_DIR:-$root/.infra}
kafka_port=${KAFKA_PORT:-9092}
ctrl_port=${KAFKA_CONTROLLER_PORT:-9093}
redis_port=${REDIS_PORT:-6379}
heap=${KAFKA_HEAP:-512m}
only=${INFRA_ONLY:-kafka redis}
libs=${KAFKA_LIBS:-$root/.infra/kafka-libs}
mkdir -p "$infra/kafka" "$infra/redis"

log() { printf '[infra-up] %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------- Redis
start_redis() {
  if pid_alive "$infra/redis.pid" && port_open "$redis_port"; then
    log "redis already running (pid $(cat "$infra/redis.pid"))"; return
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing redis-server (Debian package)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server >/dev/null
  fi
  if port_open "$redis_port"; then
    echo "port $redis_port is taken by a process infra-up did not start; stop it or set REDIS_PORT" >&2; exit 1
  fi
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --daemonize yes --pidfile "$infra/redis.pid" --dir "$infra/redis" \
    --logfile "$infra/redis/redis.log"
  for _ in $(seq 1 100); do
    if redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; then
      log "redis $(redis-server --version | grep -o 'v=[0-9.]*') up on 127.0.0.1:$redis_port (pid $(cat "$infra/redis.pid"))"
      echo "127.0.0.1:$redis_port" >"$infra/redis.addr"
      return
    fi
    sleep 0.1
  done
  echo "redis did not answer PING; see $infra/redis/redis.log" >&2; exit 1
}

# ---------------------------------------------------------------- Kafka
# java_major prints the major version of the java on PATH (8 for "1.8.0_x").
java_major() {
  java -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1") ? v[2] : v[1]; exit }'
}

# need_java installs, from Debian packages, a Java 17+ runtime when there is none
# (Kafka 4 runs on Java 17+), and Maven when the Kafka jars are not cached yet
# (they come from Maven Central through mvn). Package names differ between
# Debian releases: the first that installs wins.
need_java() {
  local major
  major=$(command -v java >/dev/null 2>&1 && java_major || echo 0)
  if [ "${major:-0}" -lt 17 ] 2>/dev/null || [ -z "$major" ]; then
    log "installing a Java 17+ runtime (Debian package; found: ${major:-none})"
    as_root apt-get update -qq
    local pkg ok=""
    for pkg in openjdk-17-jre-headless openjdk-21-jre-headless default-jre-headless; do
      if DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$pkg" >/dev/null 2>&1; then ok=$pkg; break; fi
    done
    [ -n "$ok" ] || { echo "could not install a Java 17+ runtime; install one and retry" >&2; exit 1; }
  fi
  if [ ! -f "$libs/.complete" ] && ! command -v mvn >/dev/null 2>&1; then
    log "installing maven (Debian package)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq maven >/dev/null
  fi
}

kafka_classpath() {
  if [ ! -f "$libs/.complete" ] && [ -f "$infra/kafka/libs/.complete" ]; then
    mkdir -p "$(dirname "$libs")"; mv "$infra/kafka/libs" "$libs" # cache of an older layout
  fi
  if [ ! -f "$libs/.complete" ]; then
    log "resolving Apache Kafka jars from Maven Central (deployments/kafka/pom.xml)"
    rm -rf "$libs"
    mvn -q -B -f "$root/deployments/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$libs" -DincludeScope=runtime
    touch "$libs/.complete"
  fi
}

start_kafka() {
  if pid_alive "$infra/kafka.pid" && port_open "$kafka_port"; then
    log "kafka already running (pid $(cat "$infra/kafka.pid"))"; return
  fi
  if port_open "$kafka_port"; then
    echo "port $kafka_port is taken by a process infra-up did not start; stop it or set KAFKA_PORT" >&2; exit 1
  fi
  need_java
  kafka_classpath
  local conf="$infra/kafka/server.properties" data="$infra/kafka/data"
  cat >"$conf" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl_port
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$ctrl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  cat >"$infra/kafka/log4j2.properties" <<PROPS
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=$infra/kafka/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
PROPS
  local cp="$libs/*"
  if [ ! -f "$data/meta.properties" ]; then
    local id
    id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid)
    java -cp "$cp" kafka.tools.StorageTool format -t "$id" -c "$conf" >/dev/null
  fi
  nohup java -Xmx"$heap" -Xms128m -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$infra/kafka/log4j2.properties" \
    -cp "$cp" kafka.Kafka "$conf" >"$infra/kafka/stdout.log" 2>&1 &
  echo $! >"$infra/kafka.pid"
  for _ in $(seq 1 300); do
    if port_open "$kafka_port"; then break; fi
    if ! pid_alive "$infra/kafka.pid"; then
      echo "kafka exited during start; see $infra/kafka/stdout.log and server.log" >&2
      tail -20 "$infra/kafka/stdout.log" >&2 || true; exit 1
    fi
    sleep 0.2
  done
  port_open "$kafka_port" || { echo "kafka did not open port $kafka_port in 60 s" >&2; exit 1; }
  local version
  version=$(ls "$libs" | sed -n 's/^kafka-clients-\(.*\)\.jar$/\1/p')
  log "Apache Kafka $version (KRaft) up on 127.0.0.1:$kafka_port (pid $(cat "$infra/kafka.pid"))"
  # The port opening is not enough: the first consumer-group join creates
  # __consumer_offsets and takes seconds. Wait for a group to work end to end.
  (cd "$root/deployments" && go run ./cmd/kafkawait -brokers "127.0.0.1:$kafka_port" -timeout 90s)
  echo "127.0.0.1:$kafka_port" >"$infra/kafka.addr"
}

case " $only " in *" redis "*) start_redis ;; esac
case " $only " in *" kafka "*) start_kafka ;; esac
log "ready:$(case " $only " in *" kafka "*) echo " KAFKA_BROKERS=127.0.0.1:$kafka_port" ;; esac)$(case " $only " in *" redis "*) echo " REDIS_ADDR=127.0.0.1:$redis_port" ;; esac)"
