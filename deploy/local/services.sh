#!/usr/bin/env bash
# Start, stop and list LinkDuty's services on the local stack (deploy/local/stack.sh must be up).
#   deploy/local/services.sh up | down | status | restart [NAME ...]
# restart: one service after the other (all, in the order below, when none is named), each
# stopped with SIGTERM and started again, and ready, before the next: a rolling restart.
# Each service runs in the background from the project's virtualenv, with a pid file and a log
# under $LINKDUTY_STATE/services/. HTTP services listen on 127.0.0.1 only.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE=${LINKDUTY_STATE:-$REPO/.state}
RUN=$STATE/services
PY=$REPO/.venv/bin/python
mkdir -p "$RUN"
# shellcheck disable=SC1091
source "$STATE/stack.env"

log() { printf 'services: %s\n' "$*" >&2; }

# name | port (0: no HTTP) | database (-: none) | module and arguments
SERVICES=(
  "alarms|8101|linkduty_alarms|alarms.main"
  "units|8102|linkduty_units|units.main"
  "hazards|8103|linkduty_hazards|hazards.main"
  "volunteers|8105|linkduty_volunteers|volunteers.main"
  "devices|8106|linkduty_devices|devices.main"
  "linkage|0|linkduty_linkage|linkage.main"
  "gateway|8104|linkduty_gateway|gateway.main"
)

# The service's pid is alive and not a zombie (a killed service PID 1 has not reaped yet is gone).
running() {
  local stat
  [ -f "$RUN/$1.pid" ] || return 1
  stat=$(cat "/proc/$(cat "$RUN/$1.pid")/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

start() {
  local name=$1 port=$2 db=$3 module=$4
  if running "$name"; then log "$name: already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  if ! "$PY" -c "import ${module%% *}"; then log "$name: does not import (see above)"; exit 1; fi
  [ "$port" != 0 ] || rm -f "$STATE/linkage/heartbeat"  # the last run's must not vouch for this one
  local dsn=()
  [ "$db" = - ] || dsn=(LINKDUTY_PG_DSN="${LINKDUTY_PG_DSN%/}/$db")
  # shellcheck disable=SC2086
  env LINKDUTY_KAFKA_BOOTSTRAP="$LINKDUTY_KAFKA_BOOTSTRAP" \
      "${dsn[@]}" \
      LINKDUTY_AUTH_JWKS_FILE="$STATE/auth/jwks.json" \
      LINKDUTY_DATA_DIR="$STATE/linkage" \
      LINKDUTY_GROUP_INSTANCE_ID="$name-local-0" \
      LINKDUTY_STATE="$STATE" \
      LINKDUTY_MQTT_HOST="${LINKDUTY_MQTT_HOST:-127.0.0.1}" LINKDUTY_MQTT_PORT="${LINKDUTY_MQTT_PORT:-11883}" \
      LINKDUTY_MQTT_USERNAME="${LINKDUTY_MQTT_USERNAME:-}" LINKDUTY_MQTT_PASSWORD="${LINKDUTY_MQTT_PASSWORD:-}" \
      LINKDUTY_DEVICE_PLATFORMS_FILE="${LINKDUTY_DEVICE_PLATFORMS_FILE:-}" \
      setsid nohup "$PY" -m $module >"$RUN/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/$name.pid"
  if [ "$port" != 0 ]; then
    for _ in $(seq 1 120); do
      if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then log "$name: ready on 127.0.0.1:$port"; return; fi
      running "$name" || { tail -20 "$RUN/$name.log" >&2; log "$name: exited during start-up"; exit 1; }
      sleep 0.5
    done
    tail -20 "$RUN/$name.log" >&2; log "$name: not ready after 60 s"; exit 1
  else
    # No HTTP: the linkage worker is up once its timer beats (linkage.health, the liveness probe's file).
    for _ in $(seq 1 120); do
      if [ -f "$STATE/linkage/heartbeat" ]; then log "$name: running (pid $(cat "$RUN/$name.pid"))"; return; fi
      running "$name" || { tail -20 "$RUN/$name.log" >&2; log "$name: exited during start-up"; exit 1; }
      sleep 0.5
    done
    tail -20 "$RUN/$name.log" >&2; log "$name: no heartbeat after 60 s"; exit 1
  fi
}

stop() {
  local name=$1
  if ! running "$name"; then rm -f "$RUN/$name.pid"; return; fi
  local pid; pid=$(cat "$RUN/$name.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
  log "$name: stopped"
}

case "${1:-}" in
  up) for s in "${SERVICES[@]}"; do IFS='|' read -r n p d m <<<"$s"; start "$n" "$p" "$d" "$m"; done ;;
  down) for s in "${SERVICES[@]}"; do IFS='|' read -r n _ _ _ <<<"$s"; stop "$n"; done ;;
  status)
    for s in "${SERVICES[@]}"; do
      IFS='|' read -r n p _ _ <<<"$s"
      if running "$n"; then echo "$n running pid $(cat "$RUN/$n.pid") port $p"; else echo "$n stopped"; fi
    done ;;
  restart)
    shift
    for s in "${SERVICES[@]}"; do
      IFS='|' read -r n p d m <<<"$s"
      if [ $# -eq 0 ] || [[ " $* " == *" $n "* ]]; then stop "$n"; start "$n" "$p" "$d" "$m"; fi
    done ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac
