#!/usr/bin/env bash
# LinkDuty local stack without Docker: Apache Kafka 4.1 (KRaft, combined broker+controller nodes)
# and PostgreSQL, both bound to 127.0.0.1 only, all state under $LINKDUTY_STATE (<repo>/.state).
# One Kafka node by default; LINKDUTY_KAFKA_BROKERS=3 starts a three-node cluster as in production
# (replication 3, min.insync.replicas 2), its nodes on consecutive port pairs from 19092/19093,
# with a PostgreSQL data folder of its own (under .state/kafka-cluster).
# On request (LINKDUTY_S3=1 with `up`, or `s3-start`) also SeaweedFS, an S3-compatible object
# store (one `weed server`: master, volume, filer, S3 gateway), built from the Go module proxy on
# first use (deploy/local/seaweedfs.sh, ~8 min cold). Services keep the local filesystem store
# unless LINKDUTY_OBJECT_STORE=s3; stack.env carries the LINKDUTY_S3_* settings while it runs.
# Also Mosquitto, the MQTT broker the devices service reads IoT platforms' signals from (installed
# with apt-get when missing; no anonymous clients; users, rules and the generated platforms file
# by deploy/local/mosquitto.sh), on 127.0.0.1:11883.
#
# Usage: deploy/local/stack.sh COMMAND
#   up           start (or reuse) Kafka (every node), PostgreSQL and Mosquitto, wait until they
#                really work, create the role and databases, write $LINKDUTY_STATE/stack.env
#   down         stop what this script started (anything else on the ports is left alone)
#   status       one line per component; exit 0 when Kafka, PostgreSQL and Mosquitto run (and S3
#                when LINKDUTY_S3=1), 3 otherwise
#   reset        down + delete the data (the Kafka jar cache is kept)
#   kafka-stop | kafka-start | pg-stop | pg-start | s3-stop | s3-start | mqtt-stop | mqtt-start
#                stop/start one component, keeping its data (used by the fault tests);
#                kafka-start starts every node that is not running; s3-start builds weed when
#                missing, creates the bucket and adds the LINKDUTY_S3_* lines to stack.env
#   kafka-node-pid N | pg-pid | s3-pid | mqtt-pid
#                the pid of Kafka node N (1-based), of PostgreSQL's postmaster, of SeaweedFS or of Mosquitto,
#                when this script started it and it runs (for the fault tests)
#
# Environment (defaults): LINKDUTY_STATE (<repo>/.state), LINKDUTY_KAFKA_PORT (19092),
#   LINKDUTY_KAFKA_CONTROLLER_PORT (19093), LINKDUTY_KAFKA_BROKERS (1, 3 or 5; node N listens
#   on port + 2(N-1) and controller port + 2(N-1); later commands use the count `up` last used),
#   LINKDUTY_PG_PORT (15432),
#   LINKDUTY_KAFKA_READY_TIMEOUT (90 s), LINKDUTY_PG_READY_TIMEOUT (60 s),
#   LINKDUTY_S3 (0; 1: `up` starts SeaweedFS too), LINKDUTY_S3_PORT (18333; its master, volume
#   and filer take the next three ports, the four gRPC ports the four after: 18333-18340),
#   LINKDUTY_S3_BUCKET (linkduty-photos), LINKDUTY_S3_READY_TIMEOUT (60 s),
#   LINKDUTY_MQTT_PORT (11883), LINKDUTY_MQTT_READY_TIMEOUT (20 s).
#
# Needs: java 17+, mvn (once, to fetch the Kafka jars), the project virtualenv (.venv, for the
# Kafka and S3 probes) and PostgreSQL (installed with apt-get when missing and running as root);
# for S3, Go 1.26.6+ (once, to build weed); Mosquitto (installed with apt-get when missing and
# running as root; run as the OS user mosquitto then).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE=${LINKDUTY_STATE:-$REPO/.state}
HOST=127.0.0.1
KAFKA_PORT=${LINKDUTY_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${LINKDUTY_KAFKA_CONTROLLER_PORT:-19093}
PG_PORT=${LINKDUTY_PG_PORT:-15432}
KAFKA_READY_TIMEOUT=${LINKDUTY_KAFKA_READY_TIMEOUT:-90}
PG_READY_TIMEOUT=${LINKDUTY_PG_READY_TIMEOUT:-60}
S3_WANTED=${LINKDUTY_S3:-0}
S3_PORT=${LINKDUTY_S3_PORT:-18333}
S3_BUCKET=${LINKDUTY_S3_BUCKET:-linkduty-photos}
S3_REGION=us-east-1  # SeaweedFS accepts any; SigV4 needs one
S3_READY_TIMEOUT=${LINKDUTY_S3_READY_TIMEOUT:-60}
MQTT_PORT=${LINKDUTY_MQTT_PORT:-11883}
MQTT_READY_TIMEOUT=${LINKDUTY_MQTT_READY_TIMEOUT:-20}

KAFKA_SRC=$HERE/kafka               # pom.xml, server.properties.in, log4j2.yaml (in git)
PG_DBS_FILE=$HERE/databases.txt
VENV_PY=$REPO/.venv/bin/python

# State paths; set_state_paths makes them absolute (java and postgres get them as arguments).
set_state_paths() {
  mkdir -p "$STATE/kafka"
  STATE=$(cd "$STATE" && pwd)
  KAFKA_LIBS=$STATE/kafka/libs        # one jar cache for every node
  KAFKA_CLUSTER_DIR=$STATE/kafka-cluster
  KAFKA_BROKERS_FILE=$STATE/kafka-brokers  # how many nodes the last `up` started
  KAFKA_BROKERS=${LINKDUTY_KAFKA_BROKERS:-$(remembered_brokers)}
  [[ $KAFKA_BROKERS =~ ^[135]$ ]] || die "LINKDUTY_KAFKA_BROKERS must be 1, 3 or 5 (a KRaft quorum is odd), not '$KAFKA_BROKERS'"
  kafka_node 1
  # A cluster has its own PostgreSQL data too: the services' event stores must match the events
  # in Kafka (calls linked to alarms reported on the other Kafka would reach no console).
  if ((KAFKA_BROKERS == 1)); then PG_DIR=$STATE/postgres; else PG_DIR=$KAFKA_CLUSTER_DIR/postgres; fi
  PG_DATA=$PG_DIR/data
  PG_RUN=$PG_DIR/run
  PG_LOG=$PG_DIR/postgres.log
  PG_MARK=$PG_DIR/started-by-stack
  S3_DIR=$STATE/seaweedfs
  S3_DATA=$S3_DIR/data
  S3_PID=$S3_DIR/weed.pid
  S3_LOG=$S3_DIR/weed.log
  S3_MARK=$S3_DIR/started-by-stack
  MQTT_DIR=$STATE/mosquitto            # config, passwd, acl, credentials, data/ (deploy/local/mosquitto.sh)
  MQTT_CONF=$MQTT_DIR/mosquitto.conf
  MQTT_PID=$MQTT_DIR/mosquitto.pid
  MQTT_LOG=$MQTT_DIR/mosquitto.log
  MQTT_MARK=$MQTT_DIR/started-by-stack
  DEVICE_PLATFORMS_FILE=$STATE/devices/platforms.toml
}

remembered_brokers() { if [[ -s $KAFKA_BROKERS_FILE ]]; then cat "$KAFKA_BROKERS_FILE"; else echo 1; fi; }

# Port $1 (node 1's) as node $2 has it: nodes take consecutive pairs of ports.
node_port() { echo $(($1 + 2 * ($2 - 1))); }

# Selects Kafka node $1 (1-based): its ports and state paths. A single node keeps the layout of
# .state/kafka; a cluster's nodes live in .state/kafka-cluster/node-N, so neither sees the other's
# data (a cluster is formatted with one cluster id and a static quorum of all its nodes).
kafka_node() {
  NODE_ID=$1
  NODE_PORT=$(node_port "$KAFKA_PORT" "$NODE_ID")
  NODE_CONTROLLER_PORT=$(node_port "$KAFKA_CONTROLLER_PORT" "$NODE_ID")
  if ((KAFKA_BROKERS == 1)); then KAFKA_DIR=$STATE/kafka; else KAFKA_DIR=$KAFKA_CLUSTER_DIR/node-$NODE_ID; fi
  KAFKA_DATA=$KAFKA_DIR/data
  KAFKA_PROPS=$KAFKA_DIR/server.properties
  KAFKA_PID=$KAFKA_DIR/kafka.pid
  KAFKA_LOG=$KAFKA_DIR/kafka.log
  KAFKA_MARK=$KAFKA_DIR/started-by-stack
}

# True when this script started one of the nodes and it runs.
any_node_ours() {
  local i
  for ((i = 1; i <= KAFKA_BROKERS; i++)); do
    kafka_node "$i"
    [[ -z $(kafka_our_pid) ]] || return 0
  done
  return 1
}

# Runs "$@" once per Kafka node, with that node selected; fails on the first node that fails.
for_each_node() {
  local i
  for ((i = 1; i <= KAFKA_BROKERS; i++)); do
    kafka_node "$i"
    "$@"
  done
}

# host:port of every node, comma-separated (what clients bootstrap from).
kafka_bootstrap() {
  local i out=""
  for ((i = 1; i <= KAFKA_BROKERS; i++)); do out+=${out:+,}$HOST:$(node_port "$KAFKA_PORT" "$i"); done
  echo "$out"
}

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: ERROR: %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no nc needed).
# shellcheck disable=SC2016  # $0/$1 are expanded by the inner bash
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null; }

# True when pid $1 exists and is not a zombie (in containers PID 1 may never reap our daemons).
pid_alive() {
  local stat
  [[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
  # cat, not $(<file): under set -e a failed $(<file) kills bash 5.2 even inside `if`.
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Best-effort pid of whatever listens on port $1 (for `status` on components we did not start).
listener_pid() {
  local line
  line=$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n1) || true
  [[ $line =~ pid=([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo "?"
}

# Wait until "$@" succeeds or $1 seconds pass; returns 1 on timeout.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

not_alive() { ! pid_alive "$1"; }

# One stack.sh at a time per state folder (e.g. parallel test workers all calling `up`).
# Daemons are started with `9>&-` so they do not inherit (and keep holding) this lock.
take_lock() {
  exec 9>"$STATE/stack.lock"
  flock -w 600 9 || die "another stack.sh has held $STATE/stack.lock for 600 s"
}

check_ports() {
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$PG_PORT" "$S3_PORT" "$MQTT_PORT"; do
    if ! [[ $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then die "invalid port '$p'"; fi
  done
  ((KAFKA_BROKERS == 1 || KAFKA_CONTROLLER_PORT - KAFKA_PORT == 1)) \
    || die "a cluster's ports come in pairs: LINKDUTY_KAFKA_CONTROLLER_PORT must be LINKDUTY_KAFKA_PORT + 1"
  [[ $S3_WANTED =~ ^[01]$ ]] || die "LINKDUTY_S3 must be 0 or 1, not '$S3_WANTED'"
  ((S3_PORT + 7 <= 65535)) || die "LINKDUTY_S3_PORT: SeaweedFS needs it and the 7 ports after it"
  [[ $S3_BUCKET =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "LINKDUTY_S3_BUCKET: '$S3_BUCKET' is not an S3 bucket name"
}

require_venv() {
  [[ -x $VENV_PY ]] || die "$VENV_PY not found (or not executable by $(id -un)): run ./linkduty up (or ./linkduty test) first: its bootstrap creates .venv, whose aiokafka the Kafka readiness probe needs"
}

# ---------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------
kafka_java() { java -cp "$KAFKA_LIBS/*" "$@"; }

# The jars are fetched once into .state/kafka/libs; the pom's hash tells when to fetch again.
kafka_fetch_libs() {
  local want have=""
  want=$(sha256sum "$KAFKA_SRC/pom.xml" | cut -d' ' -f1)
  [[ -f $KAFKA_LIBS/.pom.sha256 ]] && have=$(<"$KAFKA_LIBS/.pom.sha256")
  if [[ $want == "$have" ]] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
    return
  fi
  command -v mvn >/dev/null || die "mvn not found: Maven is needed once to fetch the Kafka jars (apt-get install -y maven)"
  log "kafka: fetching the broker jars with Maven into $KAFKA_LIBS (jars missing or pom.xml changed; up to a minute) ..."
  # Download into a scratch folder and swap, so an interrupted fetch never looks complete.
  local tmp=$KAFKA_LIBS.tmp
  rm -rf "$tmp"
  if ! mvn -B -f "$KAFKA_SRC/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$STATE/kafka/mvn.log" 2>&1; then
    grep -E 'ERROR|FAIL' "$STATE/kafka/mvn.log" | tail -n 20 >&2 || true
    die "Maven could not fetch the Kafka jars (full output: $STATE/kafka/mvn.log)"
  fi
  echo "$want" >"$tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  log "kafka: $(compgen -G "$KAFKA_LIBS/*.jar" | wc -l) jars cached"
}

# A single node bootstraps a dynamic quorum of itself; a cluster has a static quorum of all nodes.
kafka_quorum() {
  if ((KAFKA_BROKERS == 1)); then
    echo "controller.quorum.bootstrap.servers=$HOST:$NODE_CONTROLLER_PORT"
    return
  fi
  local i voters=""
  for ((i = 1; i <= KAFKA_BROKERS; i++)); do
    voters+=${voters:+,}$i@$HOST:$(node_port "$KAFKA_CONTROLLER_PORT" "$i")
  done
  echo "controller.quorum.voters=$voters"
}

# As in production (k8s): three copies, two of them in sync before a write is acknowledged.
kafka_replication() { echo $((KAFKA_BROKERS < 3 ? KAFKA_BROKERS : 3)); }
kafka_min_isr() { echo $((KAFKA_BROKERS < 3 ? 1 : 2)); }

# Rewritten on every start from the template in git, so port changes take effect.
kafka_write_props() {
  local text
  text=$(<"$KAFKA_SRC/server.properties.in")
  # Quoted replacements: bash 5.2 would otherwise expand '&' in them.
  text=${text//@HOST@/"$HOST"}
  text=${text//@NODE_ID@/"$NODE_ID"}
  text=${text//@KAFKA_PORT@/"$NODE_PORT"}
  text=${text//@CONTROLLER_PORT@/"$NODE_CONTROLLER_PORT"}
  text=${text//@QUORUM@/"$(kafka_quorum)"}
  text=${text//@REPLICATION@/"$(kafka_replication)"}
  text=${text//@MIN_ISR@/"$(kafka_min_isr)"}
  text=${text//@DATA_DIR@/"$KAFKA_DATA"}
  printf '%s\n' "$text" >"$KAFKA_PROPS"
}

# KRaft storage must be formatted once with a cluster id; meta.properties marks a formatted dir.
# A cluster's nodes share one cluster id, kept in .state/kafka-cluster/cluster.id.
kafka_format() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return
  mkdir -p "$KAFKA_DATA"
  local cluster_id quorum=(--standalone)
  if ((KAFKA_BROKERS == 1)); then
    cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid | tail -n1)
  else
    quorum=()  # static: controller.quorum.voters names them all
    [[ -s $KAFKA_CLUSTER_DIR/cluster.id ]] \
      || kafka_java kafka.tools.StorageTool random-uuid | tail -n1 >"$KAFKA_CLUSTER_DIR/cluster.id"
    cluster_id=$(<"$KAFKA_CLUSTER_DIR/cluster.id")
  fi
  log "kafka: formatting $KAFKA_DATA (node $NODE_ID of $KAFKA_BROKERS, cluster id $cluster_id)"
  kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_PROPS" "${quorum[@]}" >&2 \
    || die "kafka storage format failed (see above)"
}

# Pid of the broker this script started, if it is still alive (pid checked against its cmdline,
# so a recycled pid is never mistaken for the broker).
kafka_our_pid() {
  [[ -f $KAFKA_MARK && -f $KAFKA_PID ]] || return 0
  local pid cmd
  pid=$(<"$KAFKA_PID")
  pid_alive "$pid" || return 0
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 0
  [[ $cmd == *kafka.Kafka*"$KAFKA_PROPS"* ]] && echo "$pid"
  return 0
}

kafka_launch() {
  command -v java >/dev/null || die "java not found (Java 17+ is needed for Kafka)"
  [[ -f $KAFKA_LOG ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"   # keep the previous run's log
  rm -f "$KAFKA_PID"
  # setsid: own session, so the broker survives the calling shell and its Ctrl-C / hang-up.
  # The inner bash writes its own pid and then becomes java (exec), so the pid file is exact.
  # shellcheck disable=SC2016  # $$, $0 and $@ belong to the inner bash
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PID" \
    java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_SRC/log4j2.yaml" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
    </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
  wait_for 10 test -s "$KAFKA_PID" || die "kafka: the broker process did not start (see $KAFKA_LOG)"
  touch "$KAFKA_MARK"
  log "kafka: started pid $(<"$KAFKA_PID") on $HOST:$NODE_PORT (controller $HOST:$NODE_CONTROLLER_PORT), log $KAFKA_LOG"
}

# Make sure the selected node is running or starting; adds the pid to watch while waiting to
# KAFKA_WAIT_PIDS (none when reusing a broker that this script did not start).
KAFKA_WAIT_PIDS=()
kafka_ensure_started() {
  local pid
  pid=$(kafka_our_pid)
  if port_open "$NODE_PORT"; then
    if [[ -n $pid ]]; then
      KAFKA_WAIT_PIDS+=("$pid")
      log "kafka: node $NODE_ID already running (pid $pid, started by this script) on $HOST:$NODE_PORT"
    else
      rm -f "$KAFKA_MARK" "$KAFKA_PID"
      log "kafka: something already listens on $HOST:$NODE_PORT (not started by this script): reusing it"
    fi
    return
  fi
  if [[ -n $pid ]]; then
    KAFKA_WAIT_PIDS+=("$pid")
    log "kafka: node $NODE_ID, pid $pid (started by this script) is still starting up"
    return
  fi
  rm -f "$KAFKA_MARK"
  port_open "$NODE_CONTROLLER_PORT" \
    && die "kafka: controller port $HOST:$NODE_CONTROLLER_PORT is taken by another program (set LINKDUTY_KAFKA_CONTROLLER_PORT)"
  mkdir -p "$KAFKA_DIR"
  kafka_fetch_libs
  kafka_write_props
  kafka_format
  kafka_launch
  KAFKA_WAIT_PIDS+=("$(<"$KAFKA_PID")")
}

# An open port is not enough (no controller/leader yet): retry the produce+consume probe, which
# also waits until every node has registered with the cluster.
kafka_wait_ready() {
  local pid deadline=$((SECONDS + KAFKA_READY_TIMEOUT)) out="" remaining bootstrap
  bootstrap=$(kafka_bootstrap)
  while :; do
    remaining=$((deadline - SECONDS))
    ((remaining < 5)) && remaining=5
    ((remaining > 15)) && remaining=15
    if out=$("$VENV_PY" "$HERE/kafka_probe.py" --bootstrap "$bootstrap" --brokers "$KAFKA_BROKERS" \
      --replication "$(kafka_replication)" --timeout "$remaining" 2>&1); then
      log "kafka: ready on $bootstrap (probe produced and consumed a message; $KAFKA_BROKERS node(s) registered)"
      return
    fi
    for pid in "${KAFKA_WAIT_PIDS[@]}"; do
      pid_alive "$pid" || kafka_fail "a broker (pid $pid) exited during start-up"
    done
    if ((SECONDS >= deadline)); then
      kafka_fail "not ready after $KAFKA_READY_TIMEOUT s; last probe said: ${out##*$'\n'}"
    fi
    sleep 1
  done
}

kafka_fail() {
  printf 'stack: ERROR: kafka: %s\n' "$1" >&2
  for_each_node kafka_fail_node
  exit 1
}

kafka_fail_node() {
  # Our log only tells something about a broker that this script started.
  if ((${#KAFKA_WAIT_PIDS[@]})) && [[ -f $KAFKA_LOG ]]; then
    printf 'stack: last lines of %s:\n' "$KAFKA_LOG" >&2
    tail -n 30 "$KAFKA_LOG" | sed 's/^/    /' >&2
  fi
  # A broker we started but that never became usable is stopped, so the next `up` starts clean.
  [[ -z $(kafka_our_pid) ]] || kafka_stop
}

# Stops the broker if this script started it. $1=strict: fail when it was not ours.
kafka_stop() {
  local strict=${1:-} pid
  pid=$(kafka_our_pid)
  if [[ -z $pid ]]; then
    rm -f "$KAFKA_MARK" "$KAFKA_PID"
    if port_open "$NODE_PORT"; then
      local msg="kafka on $HOST:$NODE_PORT was not started by this script: leaving it alone"
      [[ -n $strict ]] && die "$msg"
      log "$msg"
    else
      log "kafka: not running"
    fi
    return
  fi
  log "kafka: stopping pid $pid (SIGTERM, up to 30 s) ..."
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for 30 not_alive "$pid"; then
    log "kafka: pid $pid ignored SIGTERM for 30 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 10 not_alive "$pid" || die "kafka: pid $pid survived SIGKILL"
  fi
  rm -f "$KAFKA_MARK" "$KAFKA_PID"
  log "kafka: stopped"
}

# Pids of any broker using this state folder, whoever started it (reset must not pull the data
# out from under a running broker).
kafka_pids_using_state() {
  local f cmd
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    [[ $cmd == *kafka.Kafka*"$KAFKA_PROPS"* ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
  done
  return 0
}

kafka_status() {
  local pid name=kafka
  ((KAFKA_BROKERS == 1)) || name=kafka-$NODE_ID
  pid=$(kafka_our_pid)
  if port_open "$NODE_PORT"; then
    if [[ -n $pid ]]; then
      printf '%-9s running  %s:%s  pid %s  (started by stack.sh)\n' "$name" "$HOST" "$NODE_PORT" "$pid"
    else
      printf '%-9s running  %s:%s  pid %s  (not started by stack.sh)\n' "$name" "$HOST" "$NODE_PORT" "$(listener_pid "$NODE_PORT")"
    fi
    return 0
  fi
  if [[ -n $pid ]]; then
    printf '%-9s starting %s:%s  pid %s  (started by stack.sh, port not open yet)\n' "$name" "$HOST" "$NODE_PORT" "$pid"
  else
    printf '%-9s stopped  %s:%s  pid -\n' "$name" "$HOST" "$NODE_PORT"
  fi
  return 1
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
# Binaries: those matching an existing data folder, else the newest Debian install, else pg_config.
pg_find_bindir() {
  local d ver=""
  [[ -r $PG_DATA/PG_VERSION ]] && ver=$(<"$PG_DATA/PG_VERSION")
  if [[ -n $ver && -x /usr/lib/postgresql/$ver/bin/pg_ctl ]]; then
    echo "/usr/lib/postgresql/$ver/bin"
    return
  fi
  for d in $(compgen -G '/usr/lib/postgresql/*/bin' | sort -rV); do
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return; }
  done
  if command -v pg_config >/dev/null; then
    d=$(pg_config --bindir 2>/dev/null) || d=""
    [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return; }
  fi
  return 0
}

pg_install() {
  pg_find
  [[ -n $PG_BIN ]] && return
  if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
    die "PostgreSQL server binaries not found; install them (apt-get install -y postgresql) or run as root"
  fi
  # Note: Debian's package also creates a 'main' cluster on port 5432; the stack does not use it.
  log "postgres: not installed: apt-get install -y postgresql (one time) ..."
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
  pg_find
  [[ -n $PG_BIN ]] || die "postgresql was installed but no initdb/pg_ctl was found under /usr/lib/postgresql"
}

# PostgreSQL refuses to run as root: as root, run it as the 'postgres' OS user (made by the
# Debian package; else a system user 'linkduty', created by pg_prepare_dirs); otherwise as ourselves.
pg_os_user() {
  if ((EUID != 0)); then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; else echo linkduty; fi
}

# PG_BIN (empty when not installed) and PG_OS_USER, without side effects.
pg_find() {
  PG_BIN=$(pg_find_bindir)
  PG_OS_USER=$(pg_os_user)
}

# Run a PostgreSQL tool as the server's OS user; cd / because that user may not be able to read
# the caller's working directory.
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

pg_prepare_dirs() {
  if ((EUID == 0)) && ! id "$PG_OS_USER" >/dev/null 2>&1; then
    log "postgres: creating the system user $PG_OS_USER to run the server"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER"
  fi
  mkdir -p "$PG_DIR" "$PG_RUN"
  ((EUID == 0)) && chown "$PG_OS_USER:" "$PG_DIR" "$PG_RUN"
  as_pg test -w "$PG_DIR" \
    || die "OS user $PG_OS_USER cannot write $PG_DIR: every parent folder must be traversable (chmod o+x), or set LINKDUTY_STATE elsewhere"
  # Unix socket paths are limited to 107 bytes.
  ((${#PG_RUN} + 16 <= 107)) \
    || die "$PG_RUN is too long for a Unix socket path: use a shorter LINKDUTY_STATE"
}

pg_initdb() {
  [[ -f $PG_DATA/PG_VERSION ]] && return
  local locale=C
  # Here-string, not a pipe: with pipefail, grep -q closing early could fail the pipeline.
  grep -qiE '^c\.utf-?8$' <<<"$(locale -a 2>/dev/null)" && locale=C.UTF-8
  log "postgres: initdb $PG_DATA (locale $locale, auth trust, superuser postgres)"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 \
    --locale="$locale" >"$PG_DIR/initdb.log" 2>&1 \
    || { tail -n 20 "$PG_DIR/initdb.log" >&2; die "initdb failed (full output: $PG_DIR/initdb.log)"; }
}

# True when a postmaster runs on our data folder (whoever started it).
pg_running_here() {
  [[ -n ${PG_BIN:-} && -f $PG_DATA/PG_VERSION ]] || return 1
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# A server killed with SIGKILL leaves postmaster.pid behind. Where PID 1 does not reap orphans
# (this sandbox, some containers) the dead postmaster stays a zombie, kill(pid, 0) still succeeds
# and postgres would refuse to start; pid_alive knows zombies are dead.
pg_clear_stale_pidfile() {
  local file=$PG_DATA/postmaster.pid pid
  [[ -f $file ]] || return 0
  pid=$(head -n1 "$file")
  if ! pid_alive "$pid"; then
    log "postgres: removing stale $file (pid $pid is gone)"
    rm -f "$file"
  fi
}

pg_launch() {
  pg_clear_stale_pidfile
  local opts="-c listen_addresses=$HOST -p $PG_PORT -c unix_socket_directories=$PG_RUN"
  opts+=" -c fsync=on -c max_connections=300 -c shared_buffers=256MB"
  log "postgres: starting on $HOST:$PG_PORT (log $PG_LOG) ..."
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "$opts" -w -t "$PG_READY_TIMEOUT" start \
    >/dev/null 9>&- \
    || { tail -n 20 "$PG_LOG" >&2 || true; die "postgres did not start (log: $PG_LOG)"; }
  touch "$PG_MARK"
}

pg_wait_ready() {
  wait_for "$PG_READY_TIMEOUT" "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2 \
    || die "postgres on $HOST:$PG_PORT not ready after $PG_READY_TIMEOUT s (log: $PG_LOG)"
}

pg_psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" "$@"; }

# Role linkduty and the databases of databases.txt, idempotently. As superuser 'postgres' (trust
# on our own cluster); on a server we did not start, fall back to linkduty:linkduty.
pg_provision() {
  local names=() line
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%%#*}
    line=${line//[[:space:]]/}
    [[ -z $line ]] && continue
    [[ $line =~ ^[a-z_][a-z0-9_]*$ ]] || die "$PG_DBS_FILE: invalid database name '$line'"
    names+=("'$line'")
  done <"$PG_DBS_FILE"
  local list
  list=$(IFS=,; echo "${names[*]}")
  local role_sql="DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'linkduty') THEN CREATE ROLE linkduty; END IF;
    END \$\$;
    ALTER ROLE linkduty WITH LOGIN CREATEDB SUPERUSER PASSWORD 'linkduty';"
  local db_sql="SELECT format('CREATE DATABASE %I OWNER linkduty', d)
      FROM unnest(ARRAY[$list]::text[]) AS d
      WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \\gexec"
  local err
  if err=$(printf '%s\n%s\n' "$role_sql" "$db_sql" \
      | PGCONNECT_TIMEOUT=5 pg_psql -U postgres -d postgres 2>&1); then
    :
  elif printf '%s\n' "$db_sql" \
      | PGCONNECT_TIMEOUT=5 PGPASSWORD=linkduty pg_psql -U linkduty -d postgres 2>/dev/null; then
    :
  else
    printf '%s\n' "$err" >&2
    die "postgres on $HOST:$PG_PORT: could not create the role/databases (as postgres, nor as linkduty)"
  fi
  log "postgres: role linkduty and ${#names[@]} databases present"
}

pg_start() {
  pg_install
  if port_open "$PG_PORT"; then
    if [[ -f $PG_MARK ]] && pg_running_here; then
      log "postgres: already running (pid $(pg_pid), started by this script) on $HOST:$PG_PORT"
    else
      rm -f "$PG_MARK"
      log "postgres: something already listens on $HOST:$PG_PORT (not started by this script): reusing it"
    fi
  else
    pg_prepare_dirs
    pg_initdb
    pg_launch
  fi
  pg_wait_ready
  pg_provision
  log "postgres: ready on $HOST:$PG_PORT"
}

pg_pid() { head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || echo "?"; }

# Stops PostgreSQL if this script started it. $1=strict: fail when it was not ours.
pg_stop() {
  local strict=${1:-}
  pg_find
  if [[ -f $PG_MARK ]] && pg_running_here; then
    log "postgres: stopping pid $(pg_pid) (pg_ctl stop -m fast) ..."
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null \
      || die "pg_ctl stop failed (log: $PG_LOG)"
    rm -f "$PG_MARK"
    log "postgres: stopped"
    return
  fi
  rm -f "$PG_MARK"
  if port_open "$PG_PORT"; then
    local msg="postgres on $HOST:$PG_PORT was not started by this script: leaving it alone"
    [[ -n $strict ]] && die "$msg"
    log "$msg"
  else
    log "postgres: not running"
  fi
}

pg_status() {
  pg_find
  if port_open "$PG_PORT"; then
    if [[ -f $PG_MARK ]] && pg_running_here; then
      printf 'postgres  running  %s:%s  pid %s  (started by stack.sh)\n' "$HOST" "$PG_PORT" "$(pg_pid)"
    else
      printf 'postgres  running  %s:%s  pid %s  (not started by stack.sh)\n' "$HOST" "$PG_PORT" "$(listener_pid "$PG_PORT")"
    fi
    return 0
  fi
  printf 'postgres  stopped  %s:%s  pid -\n' "$HOST" "$PG_PORT"
  return 1
}

# ---------------------------------------------------------------------------------------------
# S3: SeaweedFS (optional: LINKDUTY_S3=1 with `up`, or s3-start)
# ---------------------------------------------------------------------------------------------
# Its master, volume server and filer listen on the three ports after the S3 one, the four gRPC
# ports on the four after those (SeaweedFS would otherwise put them at +10000).
s3_master_port() { echo $((S3_PORT + 1)); }
s3_filer_port() { echo $((S3_PORT + 3)); }
s3_endpoint() { echo "http://$HOST:$S3_PORT"; }

# The binary, built when missing; before take_lock, so a first build (minutes) never blocks
# another stack.sh (deploy/local/seaweedfs.sh has a lock of its own).
WEED=""
s3_install() { WEED=$("$HERE/seaweedfs.sh" install) || die "s3: could not build SeaweedFS (see above)"; }

hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# One identity, made on first start and kept with the data (the objects are readable only with
# it): an access key id and secret, as stack.env hands them to the services.
s3_credentials() {
  local file=$S3_DIR/credentials
  if [[ ! -s $file ]]; then
    (umask 077 && printf 'LD%s\n%s\n' "$(hex 9 | tr a-f A-F)" "$(hex 20)" >"$file.tmp" && mv -f "$file.tmp" "$file")
  fi
  { read -r S3_ACCESS_KEY_ID; read -r S3_SECRET_ACCESS_KEY; } <"$file"
}

# Rewritten on every start. s3.json: the stack's identity, the only one (no anonymous access).
# security.toml (read from the working directory, weed's own and weed shell's): signing keys, so
# the filer's and volume server's gRPC/HTTP writes need a token, not just a reachable port.
s3_write_config() {
  s3_credentials
  local keys=$S3_DIR/signing-keys
  [[ -s $keys ]] || (umask 077 && printf '%s\n%s\n' "$(hex 24)" "$(hex 24)" >"$keys")
  local volume_key filer_key
  { read -r volume_key; read -r filer_key; } <"$keys"
  (umask 077
   printf '{"identities": [{"name": "linkduty", "credentials": [{"accessKey": "%s", "secretKey": "%s"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}\n' "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY" >"$S3_DIR/s3.json"
   printf '[jwt.signing]\nkey = "%s"\n\n[jwt.filer_signing]\nkey = "%s"\n' "$volume_key" "$filer_key" >"$S3_DIR/security.toml")
}

# Pid of the SeaweedFS this script started, if it is still alive (checked against its cmdline).
s3_our_pid() {
  [[ -f $S3_MARK && -f $S3_PID ]] || return 0
  local pid cmd
  pid=$(<"$S3_PID")
  pid_alive "$pid" || return 0
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 0
  [[ $cmd == *weed\ server*"-dir=$S3_DATA "* ]] && echo "$pid"
  return 0
}

s3_launch() {
  local run=$S3_DIR/run p
  mkdir -p "$S3_DATA" "$run"
  ((${#run} + 10 <= 107)) || die "$run is too long for a Unix socket path: use a shorter LINKDUTY_STATE"
  for ((p = S3_PORT + 1; p <= S3_PORT + 7; p++)); do
    port_open "$p" && die "s3: port $HOST:$p (SeaweedFS's, LINKDUTY_S3_PORT + 1..7) is taken by another program"
  done
  s3_write_config
  [[ -f $S3_LOG ]] && mv -f "$S3_LOG" "$S3_LOG.1"
  rm -f "$S3_PID"
  # Loopback only, no telemetry (on by default), no Iceberg/Lance catalogs, no bucket made by a
  # stray upload; 64 MB volumes and a 1 s pre-stop keep a dev store small and quick to stop.
  # shellcheck disable=SC2016  # $$, $0, $1 and $@ belong to the inner bash
  setsid bash -c 'echo $$ >"$0"; cd "$1"; shift; exec "$@"' "$S3_PID" "$S3_DIR" \
    "$WEED" server -dir="$S3_DATA" -ip="$HOST" -ip.bind="$HOST" \
    -master.port="$(s3_master_port)" -master.port.grpc=$((S3_PORT + 5)) -master.telemetry=false -master.electionTimeout=1s \
    -master.volumeSizeLimitMB=64 -master.defaultReplication=000 \
    -volume.port=$((S3_PORT + 2)) -volume.port.grpc=$((S3_PORT + 6)) -volume.max=32 -volume.preStopSeconds=0 \
    -filer -filer.port="$(s3_filer_port)" -filer.port.grpc=$((S3_PORT + 7)) -filer.localSocket="$run/filer.sock" \
    -s3 -s3.port="$S3_PORT" -s3.port.grpc=$((S3_PORT + 4)) -s3.localSocket="$run/s3.sock" \
    -s3.config="$S3_DIR/s3.json" -s3.iam=false -s3.autoCreateBucket=false -s3.port.iceberg=0 -s3.port.lance=0 \
    </dev/null >>"$S3_LOG" 2>&1 9>&- &
  wait_for 10 test -s "$S3_PID" || die "s3: the weed process did not start (see $S3_LOG)"
  touch "$S3_MARK"
  log "s3: started SeaweedFS pid $(<"$S3_PID") on $(s3_endpoint) (log $S3_LOG)"
}

s3_shell() {
  (cd "$S3_DIR" && "$WEED" shell -connectTimeout=10s \
    -master="$HOST:$(s3_master_port).$((S3_PORT + 5))" -filer="$HOST:$(s3_filer_port).$((S3_PORT + 7))")
}

s3_bucket_ready() {
  local out
  out=$(echo "s3.bucket.list" | s3_shell 2>&1) || return 1
  grep -qE "^[[:space:]]*$S3_BUCKET([[:space:]]|$)" <<<"$out" && return 0
  out=$(echo "s3.bucket.create -name $S3_BUCKET" | s3_shell 2>&1) || return 1
  grep -q "created bucket $S3_BUCKET" <<<"$out" && log "s3: created bucket $S3_BUCKET"
}

s3_probe() {
  LINKDUTY_S3_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID LINKDUTY_S3_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY \
    "$VENV_PY" "$HERE/s3_probe.py" --endpoint "$(s3_endpoint)" --bucket "$S3_BUCKET" --region "$S3_REGION"
}

s3_fail() {
  printf 'stack: ERROR: s3: %s\n' "$1" >&2
  [[ -f $S3_LOG ]] && { printf 'stack: last lines of %s:\n' "$S3_LOG" >&2; tail -n 30 "$S3_LOG" | sed 's/^/    /' >&2; }
  [[ -z $(s3_our_pid) ]] || s3_stop
  exit 1
}

# Started (or already running), bucket made, a put/get/delete round trip done, stack.env updated.
s3_start() {
  require_venv
  local pid t0=$SECONDS out=""
  pid=$(s3_our_pid)
  mkdir -p "$S3_DIR"
  if [[ -z $pid ]]; then
    rm -f "$S3_MARK"
    # Another program's S3 is of no use: its identities are not ours to hand out.
    port_open "$S3_PORT" && die "s3: $HOST:$S3_PORT is taken by a program this script did not start (set LINKDUTY_S3_PORT)"
    s3_launch
    pid=$(<"$S3_PID")
  else
    s3_credentials
    log "s3: already running (pid $pid, started by this script) on $(s3_endpoint)"
  fi
  local deadline=$((SECONDS + S3_READY_TIMEOUT))
  until port_open "$S3_PORT" && s3_bucket_ready && out=$(s3_probe 2>&1); do
    pid_alive "$pid" || s3_fail "SeaweedFS (pid $pid) exited during start-up"
    ((SECONDS < deadline)) || s3_fail "not ready after $S3_READY_TIMEOUT s; last probe said: ${out:-nothing (port closed or bucket not made)}"
    sleep 0.5
  done
  s3_update_env
  log "s3: ready on $(s3_endpoint), bucket $S3_BUCKET (probe wrote, read and deleted an object) in $((SECONDS - t0)) s"
}

# Stops SeaweedFS if this script started it. $1=strict: fail when it was not ours.
s3_stop() {
  local strict=${1:-} pid
  pid=$(s3_our_pid)
  if [[ -z $pid ]]; then
    rm -f "$S3_MARK" "$S3_PID"
    if port_open "$S3_PORT"; then
      local msg="s3 on $HOST:$S3_PORT was not started by this script: leaving it alone"
      [[ -n $strict ]] && die "$msg"
      log "$msg"
    fi
    s3_update_env
    return
  fi
  log "s3: stopping pid $pid (SIGTERM, up to 30 s) ..."
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for 30 not_alive "$pid"; then
    log "s3: pid $pid ignored SIGTERM for 30 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 10 not_alive "$pid" || die "s3: pid $pid survived SIGKILL"
  fi
  rm -f "$S3_MARK" "$S3_PID"
  s3_update_env
  log "s3: stopped"
}

s3_status() {
  local pid
  pid=$(s3_our_pid)
  if [[ -n $pid ]] && port_open "$S3_PORT"; then
    printf 's3        running  %s:%s  pid %s  (started by stack.sh; SeaweedFS, bucket %s)\n' "$HOST" "$S3_PORT" "$pid" "$S3_BUCKET"
    return 0
  fi
  if [[ -n $pid ]]; then
    printf 's3        starting %s:%s  pid %s  (started by stack.sh, port not open yet)\n' "$HOST" "$S3_PORT" "$pid"
  elif port_open "$S3_PORT"; then
    printf 's3        foreign  %s:%s  pid %s  (not started by stack.sh: not used)\n' "$HOST" "$S3_PORT" "$(listener_pid "$S3_PORT")"
  else
    printf 's3        stopped  %s:%s  pid -  (optional: stack.sh s3-start, or LINKDUTY_S3=1 stack.sh up)\n' "$HOST" "$S3_PORT"
  fi
  return 1
}

# The LINKDUTY_S3_* lines, while our SeaweedFS runs. LINKDUTY_OBJECT_STORE is not among them: the
# services keep the local filesystem unless told otherwise.
s3_env_lines() {
  [[ -n $(s3_our_pid) ]] || return 0
  s3_credentials
  printf 'LINKDUTY_S3_ENDPOINT=%s\nLINKDUTY_S3_BUCKET=%s\nLINKDUTY_S3_REGION=%s\nLINKDUTY_S3_ACCESS_KEY_ID=%s\nLINKDUTY_S3_SECRET_ACCESS_KEY=%s\n' \
    "$(s3_endpoint)" "$S3_BUCKET" "$S3_REGION" "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
}

# stack.env's other lines kept, its S3 lines replaced (or dropped, S3 stopped).
s3_update_env() {
  local env=$STATE/stack.env tmp=$STATE/stack.env.tmp
  [[ -f $env || -n $(s3_our_pid) ]] || return 0
  { if [[ -f $env ]]; then grep -v '^LINKDUTY_S3_' "$env" || true; fi; s3_env_lines; } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$env"
}

# Pids of any weed server using this state folder, whoever started it.
s3_pids_using_state() {
  local f cmd
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    [[ $cmd == *weed\ server*"-dir=$S3_DATA "* ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
  done
  return 0
}

# ---------------------------------------------------------------------------------------------
# MQTT: Mosquitto, for the devices service (its users, rules and config: deploy/local/mosquitto.sh)
# ---------------------------------------------------------------------------------------------
mqtt_tool() { LINKDUTY_STATE=$STATE LINKDUTY_MQTT_PORT=$MQTT_PORT "$HERE/mosquitto.sh" "$@"; }

# Pid of the broker this script started, if it is still alive (checked against its cmdline).
mqtt_our_pid() {
  [[ -f $MQTT_MARK && -f $MQTT_PID ]] || return 0
  local pid cmd
  pid=$(<"$MQTT_PID")
  pid_alive "$pid" || return 0
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 0
  [[ $cmd == *mosquitto\ -c\ "$MQTT_CONF"* ]] && echo "$pid"
  return 0
}

mqtt_launch() {
  local broker
  broker=$(mqtt_tool install) || die "mqtt: could not install Mosquitto (see above)"
  mqtt_tool configure || die "mqtt: could not write its configuration (see above)"
  [[ -f $MQTT_LOG ]] && mv -f "$MQTT_LOG" "$MQTT_LOG.1"
  rm -f "$MQTT_PID"
  # In the foreground (no -d), its log (stderr) to the log file; as root it drops to the OS user mosquitto.
  # shellcheck disable=SC2016  # $$, $0 and $@ belong to the inner bash
  setsid bash -c 'echo $$ >"$0"; cd /; exec "$@"' "$MQTT_PID" "$broker" -c "$MQTT_CONF" \
    </dev/null >>"$MQTT_LOG" 2>&1 9>&- &
  wait_for 10 test -s "$MQTT_PID" || die "mqtt: the mosquitto process did not start (see $MQTT_LOG)"
  touch "$MQTT_MARK"
  log "mqtt: started Mosquitto pid $(<"$MQTT_PID") on $HOST:$MQTT_PORT (log $MQTT_LOG)"
}

mqtt_fail() {
  printf 'stack: ERROR: mqtt: %s\n' "$1" >&2
  [[ -f $MQTT_LOG ]] && { printf 'stack: last lines of %s:\n' "$MQTT_LOG" >&2; tail -n 30 "$MQTT_LOG" | sed 's/^/    /' >&2; }
  [[ -z $(mqtt_our_pid) ]] || mqtt_stop
  exit 1
}

# Started (or already running), then ready: the devices service's user published a message and
# read it back.
mqtt_start() {
  local pid t0=$SECONDS out=""
  pid=$(mqtt_our_pid)
  mkdir -p "$MQTT_DIR"
  if [[ -z $pid ]]; then
    rm -f "$MQTT_MARK"
    # Another program's broker is of no use: it knows none of the users the stack hands out.
    port_open "$MQTT_PORT" && die "mqtt: $HOST:$MQTT_PORT is taken by a program this script did not start (set LINKDUTY_MQTT_PORT)"
    mqtt_launch
    pid=$(<"$MQTT_PID")
  else
    log "mqtt: already running (pid $pid, started by this script) on $HOST:$MQTT_PORT"
  fi
  local deadline=$((SECONDS + MQTT_READY_TIMEOUT))
  until port_open "$MQTT_PORT" && out=$(mqtt_tool probe 2>&1); do
    pid_alive "$pid" || mqtt_fail "Mosquitto (pid $pid) exited during start-up"
    ((SECONDS < deadline)) || mqtt_fail "not ready after $MQTT_READY_TIMEOUT s; last probe said: ${out:-nothing (port closed)}"
    sleep 0.5
  done
  mqtt_update_env
  log "mqtt: ready on $HOST:$MQTT_PORT (probe published and read back a message as linkduty-devices) in $((SECONDS - t0)) s"
}

# Stops Mosquitto if this script started it. $1=strict: fail when it was not ours.
mqtt_stop() {
  local strict=${1:-} pid
  pid=$(mqtt_our_pid)
  if [[ -z $pid ]]; then
    rm -f "$MQTT_MARK" "$MQTT_PID"
    if port_open "$MQTT_PORT"; then
      local msg="mqtt on $HOST:$MQTT_PORT was not started by this script: leaving it alone"
      [[ -n $strict ]] && die "$msg"
      log "$msg"
    else
      log "mqtt: not running"
    fi
    return
  fi
  log "mqtt: stopping pid $pid (SIGTERM, up to 10 s) ..."
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for 10 not_alive "$pid"; then
    log "mqtt: pid $pid ignored SIGTERM for 10 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 10 not_alive "$pid" || die "mqtt: pid $pid survived SIGKILL"
  fi
  rm -f "$MQTT_MARK" "$MQTT_PID"
  log "mqtt: stopped"
}

mqtt_status() {
  local pid
  pid=$(mqtt_our_pid)
  if [[ -n $pid ]] && port_open "$MQTT_PORT"; then
    printf 'mqtt      running  %s:%s  pid %s  (started by stack.sh; Mosquitto)\n' "$HOST" "$MQTT_PORT" "$pid"
    return 0
  fi
  if [[ -n $pid ]]; then
    printf 'mqtt      starting %s:%s  pid %s  (started by stack.sh, port not open yet)\n' "$HOST" "$MQTT_PORT" "$pid"
  elif port_open "$MQTT_PORT"; then
    printf 'mqtt      foreign  %s:%s  pid %s  (not started by stack.sh: not used)\n' "$HOST" "$MQTT_PORT" "$(listener_pid "$MQTT_PORT")"
  else
    printf 'mqtt      stopped  %s:%s  pid -\n' "$HOST" "$MQTT_PORT"
  fi
  return 1
}

# The broker's address, the devices service's user and the platforms file, once the credentials
# exist (kept while the broker is stopped: a client reconnects with them).
mqtt_env_lines() {
  [[ -s $MQTT_DIR/credentials ]] || return 0
  printf 'LINKDUTY_MQTT_HOST=%s\nLINKDUTY_MQTT_PORT=%s\nLINKDUTY_MQTT_USERNAME=%s\nLINKDUTY_MQTT_PASSWORD=%s\nLINKDUTY_DEVICE_PLATFORMS_FILE=%s\n' \
    "$HOST" "$MQTT_PORT" linkduty-devices "$(mqtt_tool password)" "$DEVICE_PLATFORMS_FILE"
}

# stack.env's other lines kept, its MQTT lines replaced (`up` writes the whole file anyway).
mqtt_update_env() {
  local env=$STATE/stack.env tmp=$STATE/stack.env.tmp
  [[ -f $env ]] || return 0
  { grep -Ev '^LINKDUTY_(MQTT_|DEVICE_PLATFORMS_FILE=)' "$env" || true; mqtt_env_lines; } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$env"
}

# Pids of any mosquitto using this state folder's config, whoever started it.
mqtt_pids_using_state() {
  local f cmd
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    [[ $cmd == *mosquitto\ -c\ "$MQTT_CONF"* ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
  done
  return 0
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
write_env() {
  # Plain KEY=VALUE lines: `set -a; . .state/stack.env; set +a` in shells, easy to parse elsewhere.
  # The replication factor is that of the topics the project creates. Only its owner reads it
  # (the S3 and MQTT lines carry secrets).
  local tmp=$STATE/stack.env.tmp
  { printf 'LINKDUTY_KAFKA_BOOTSTRAP=%s\nLINKDUTY_TOPIC_REPLICATION_FACTOR=%s\nLINKDUTY_PG_DSN=postgresql://linkduty:linkduty@%s:%s\n' \
      "$(kafka_bootstrap)" "$(kafka_replication)" "$HOST" "$PG_PORT"
    s3_env_lines
    mqtt_env_lines; } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$STATE/stack.env"
}

cmd_up() {
  local t0=$SECONDS was
  require_venv
  was=$(remembered_brokers)
  if [[ $was != "$KAFKA_BROKERS" ]] && (KAFKA_BROKERS=$was; any_node_ours); then
    die "Kafka runs with $was node(s) and $KAFKA_BROKERS were asked for: stop it first (./linkduty down)"
  fi
  echo "$KAFKA_BROKERS" >"$KAFKA_BROKERS_FILE"
  # Kafka boots in the background while PostgreSQL is prepared; then both are checked.
  for_each_node kafka_ensure_started
  pg_start
  mqtt_start
  ((S3_WANTED != 1)) || s3_start
  kafka_wait_ready
  write_env
  log "up: Kafka $(kafka_bootstrap), PostgreSQL $HOST:$PG_PORT, MQTT $HOST:$MQTT_PORT$( ((S3_WANTED != 1)) || echo " and S3 $(s3_endpoint)") ready in $((SECONDS - t0)) s; settings in $STATE/stack.env"
}

cmd_down() {
  for_each_node kafka_stop
  pg_stop
  s3_stop
  mqtt_stop
}

cmd_status() {
  local rc=0 i
  for ((i = 1; i <= KAFKA_BROKERS; i++)); do
    kafka_node "$i"
    kafka_status || rc=3
  done
  pg_status || rc=3
  mqtt_status || rc=3
  s3_status || ((S3_WANTED != 1)) || rc=3
  return "$rc"
}

cmd_reset() {
  cmd_down
  for_each_node kafka_reset_node
  pg_find
  ! pg_running_here || die "a PostgreSQL server not started by this script still uses $PG_DATA: stop it first"
  local pids
  pids=$(s3_pids_using_state | tr '\n' ' ')
  [[ -z ${pids// /} ]] || die "a SeaweedFS not started by this script still uses $S3_DATA (pid $pids): stop it first"
  pids=$(mqtt_pids_using_state | tr '\n' ' ')
  [[ -z ${pids// /} ]] || die "a Mosquitto not started by this script still uses $MQTT_CONF (pid $pids): stop it first"
  # The platforms file is kept: its secrets are the platforms' (and the broker takes their users from it).
  log "reset: deleting Kafka, PostgreSQL, S3 and MQTT data under $STATE (keeping the jar cache, the weed binary and $DEVICE_PLATFORMS_FILE)"
  rm -rf "$KAFKA_LIBS.tmp" "$PG_DIR" "$S3_DIR" "$MQTT_DIR" "$STATE/stack.env"
  ((KAFKA_BROKERS == 1)) || rm -rf "$KAFKA_CLUSTER_DIR"
}

kafka_reset_node() {
  local pids
  pids=$(kafka_pids_using_state | tr '\n' ' ')
  [[ -z ${pids// /} ]] || die "a broker not started by this script still uses $KAFKA_DATA (pid $pids): stop it first"
  rm -rf "$KAFKA_DATA" "$KAFKA_PROPS" "$KAFKA_LOG" "$KAFKA_LOG.1" "$KAFKA_PID" "$KAFKA_MARK"
}

cmd_kafka_start() {
  require_venv
  for_each_node kafka_ensure_started
  kafka_wait_ready
}

# The pid of node $1 when this script started it and it runs (for the fault tests), else nothing.
cmd_kafka_node_pid() {
  [[ ${1:-} =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= KAFKA_BROKERS)) || die "kafka-node-pid: a node number from 1 to $KAFKA_BROKERS"
  kafka_node "$1"
  kafka_our_pid
}

# PostgreSQL's pid when this script started it and it runs, else nothing.
cmd_pg_pid() {
  pg_find
  if [[ -f $PG_MARK ]] && pg_running_here; then pg_pid; fi
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

main() {
  local cmd=${1:-}
  case $cmd in
    up | down | status | reset | kafka-start | kafka-stop | kafka-node-pid | pg-pid | pg-start | pg-stop) ;;
    s3-start | s3-stop | s3-pid | mqtt-start | mqtt-stop | mqtt-pid) ;;
    -h | --help | help) usage; return 0 ;;
    *) usage; die "unknown command '${cmd}'" ;;
  esac
  set_state_paths
  check_ports
  [[ $cmd == s3-start || ($cmd == up && $S3_WANTED == 1) ]] && s3_install
  # status and the *-pid commands only read; everything else changes state and is serialised.
  [[ $cmd == status || $cmd == *-pid ]] || take_lock
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    kafka-start) cmd_kafka_start ;;
    kafka-stop) for_each_node kafka_stop strict ;;
    kafka-node-pid) cmd_kafka_node_pid "${2:-}" ;;
    pg-pid) cmd_pg_pid ;;
    pg-start) pg_start ;;
    pg-stop) pg_stop strict ;;
    s3-start) s3_start ;;
    s3-stop) s3_stop strict ;;
    s3-pid) s3_our_pid ;;
    mqtt-start) require_venv; mqtt_start ;;
    mqtt-stop) mqtt_stop strict ;;
    mqtt-pid) mqtt_our_pid ;;
  esac
}

main "$@"
