#!/usr/bin/env bash
# Restarts under load: wrk keeps keep-alive connections busy while the proxy process is replaced
# N times in a row, and the counts say what was lost (docs/operations.md). Two ways, each run in
# turn (or one with --mode):
#   reuse_port  the launcher started again with the same --pid-file; the new process binds beside
#               the old one ("reuse_port": true) and sends it SIGTERM
#   socket      systemd-socket-activate holds the listening socket (as systemd's .socket unit
#               would) and a supervisor starts the launcher on it again on each replacement
# Everything binds 127.0.0.1 on free ports; everything started here is stopped on exit.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/restart.sh [options]
  -n N            replacements per mode (default 10)
  -c N            wrk connections (default 200)
  -g SECONDS      load between two replacements, after the previous hand-over completed (default 2)
  --mode M        reuse_port, socket or both (default both)
  --migrate       set net.ipv4.tcp_migrate_req=1 for the run, and back after (root; see
                  docs/operations.md: without it a reuse_port hand-over can reset the few
                  connections queued on the old listener when it closes)
  --jar FILE      the jar (default target/upstream-proxy.jar, built when missing)
EOF
}

N=10 CONNS=200 GAP=2 MODE=both MIGRATE=0 JAR=target/upstream-proxy.jar
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift ;;
    -c) CONNS=$2; shift ;;
    -g) GAP=$2; shift ;;
    --mode) MODE=$2; shift ;;
    --migrate) MIGRATE=1 ;;
    --jar) JAR=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
cd "$(dirname "$0")/.."
. bench/lib.sh
for tool in wrk nginx curl systemd-socket-activate; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done
[ -f "$JAR" ] || mvn -B -q -o package -DskipTests
JAR=$(readlink -f "$JAR")

TMP=$(mktemp -d /tmp/upstream-proxy-restart.XXXXXX)
PIDS=()
MIGRATE_WAS=$(cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null || echo "?")
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$TMP/proxy.pid" ] && kill "$(cat "$TMP/proxy.pid")" 2>/dev/null || true
  [ "$MIGRATE" = 1 ] && echo "$MIGRATE_WAS" >/proc/sys/net/ipv4/tcp_migrate_req
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ "$MIGRATE" = 1 ] && echo 1 >/proc/sys/net/ipv4/tcp_migrate_req

# --- the backend: nginx, one worker, 200 with a small body ----------------------------------------
free_port; B=$PORT
hello_backend "$B"

# --- an installation: the launcher of src/dist around the jar -------------------------------------
mkdir -p "$TMP/home/bin" "$TMP/home/lib" "$TMP/home/conf"
cp src/dist/bin/upstream-proxy "$TMP/home/bin/"
cp src/dist/conf/jvm.options "$TMP/home/conf/"
ln -s "$JAR" "$TMP/home/lib/upstream-proxy.jar"

config() { # port, reuse_port
  cat >"$TMP/proxy.json" <<EOF
{ "listen": { "host": "127.0.0.1", "port": $1, "reuse_port": $2 },
  "upstreams": { "b": { "servers": [ { "server": "127.0.0.1:$B" } ] } } }
EOF
}

answers() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/api/live" 2>/dev/null)" = 200 ]; }

until_true() { # seconds, command...: polls every 0.1 s
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}

pid_is() { [ "$(cat "$TMP/proxy.pid" 2>/dev/null)" = "$1" ]; }
pid_is_not() { [ -s "$TMP/proxy.pid" ] && [ "$(cat "$TMP/proxy.pid")" != "$1" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

report() { # mode, wrk output file, replacements, exit codes
  local out=$1 socket non2xx requests
  requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$2")
  socket=$(sed -n 's/^ *Socket errors: \(.*\)/\1/p' "$2")
  non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: \([0-9]*\)/\1/p' "$2")
  printf '%-10s replacements %s  requests %s  socket errors %s  non-2xx %s  old processes exited: %s\n' \
    "$out" "$3" "${requests:-?}" "${socket:-none}" "${non2xx:-0}" "$4"
}

run_reuse_port() {
  free_port; local port=$PORT codes="" i old new
  config "$port" true
  rm -f "$TMP/proxy.pid"
  "$TMP/home/bin/upstream-proxy" --config "$TMP/proxy.json" --pid-file "$TMP/proxy.pid" --no-access-log >"$TMP/proxy.0.log" 2>&1 &
  old=$!
  until_true 60 pid_is "$old" || { echo "bench: the first proxy did not start" >&2; cat "$TMP/proxy.0.log" >&2; exit 1; }
  wrk -t2 -c"$CONNS" -d3600s --timeout 10s "http://127.0.0.1:$port/" >"$TMP/wrk.reuse_port" 2>&1 &
  local wrk=$!
  for i in $(seq 1 "$N"); do
    sleep "$GAP" # load on the running process before the next replacement
    "$TMP/home/bin/upstream-proxy" --config "$TMP/proxy.json" --pid-file "$TMP/proxy.pid" --no-access-log >"$TMP/proxy.$i.log" 2>&1 &
    new=$!
    until_true 60 pid_is "$new" || { echo "bench: replacement $i did not take over" >&2; cat "$TMP/proxy.$i.log" >&2; exit 1; }
    wait "$old" && codes="$codes 0" || codes="$codes $?"
    [ -n "${VERBOSE:-}" ] && grep -h 'stopping: closing\|stopped:' "$TMP/proxy.$((i - 1)).log" | sed 's/^/  /'
    old=$new
  done
  sleep "$GAP"
  kill -INT "$wrk"; wait "$wrk" || true
  report reuse_port "$TMP/wrk.reuse_port" "$N" "${codes# }"
  kill "$old"; wait "$old" || true
}

run_socket() {
  free_port; local port=$PORT i sup codes=""
  config "$port" false
  rm -f "$TMP/proxy.pid" "$TMP"/proxy.*.log
  cat >"$TMP/supervisor.sh" <<'EOF'
#!/bin/sh
# A stand-in for systemd: holds the socket (descriptor 3) and starts the launcher on it on SIGUSR1.
home=$1; config=$2; pidfile=$3; logs=$4; i=-1
start() {
  i=$((i + 1))
  (sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"' sh "$home/bin/upstream-proxy" --config "$config" --pid-file "$pidfile" \
    --no-access-log >"$logs/proxy.$i.log" 2>&1; echo "exit $?" >>"$logs/proxy.$i.log") &
}
trap start USR1
trap 'exit 0' TERM
start
while :; do sleep 1 & wait $!; done
EOF
  systemd-socket-activate -l "127.0.0.1:$port" /bin/sh "$TMP/supervisor.sh" "$TMP/home" "$TMP/proxy.json" "$TMP/proxy.pid" "$TMP" \
    >"$TMP/activator.log" 2>&1 &
  sup=$!
  PIDS+=("$sup")
  until_true 60 answers "$port" || { echo "bench: the socket-activated proxy did not answer" >&2; cat "$TMP"/activator.log "$TMP"/proxy.0.log >&2; exit 1; }
  wrk -t2 -c"$CONNS" -d3600s --timeout 10s "http://127.0.0.1:$port/" >"$TMP/wrk.socket" 2>&1 &
  local wrk=$!
  for i in $(seq 1 "$N"); do
    sleep "$GAP"
    local old; old=$(cat "$TMP/proxy.pid")
    kill -USR1 "$sup"
    until_true 60 pid_is_not "$old" || { echo "bench: replacement $i did not take over" >&2; cat "$TMP/proxy.$i.log" >&2; exit 1; }
    until_true 60 gone "$old" || { echo "bench: pid $old did not stop" >&2; exit 1; }
  done
  sleep "$GAP"
  kill -INT "$wrk"; wait "$wrk" || true
  for i in $(seq 0 $((N - 1))); do
    until_true 10 grep -q '^exit ' "$TMP/proxy.$i.log" || true
    codes="$codes $(sed -n 's/^exit //p' "$TMP/proxy.$i.log")"
  done
  report socket "$TMP/wrk.socket" "$N" "${codes# }"
  kill "$(cat "$TMP/proxy.pid")"
  until_true 30 grep -q '^exit ' "$TMP/proxy.$N.log" || true
  kill "$sup" 2>/dev/null || true
}

echo "bench: $N replacements per mode, wrk -t2 -c$CONNS, ${GAP}s of load between them; net.ipv4.tcp_migrate_req=$(cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null || echo '?')"
case $MODE in
  reuse_port) run_reuse_port ;;
  socket) run_socket ;;
  both) run_reuse_port; run_socket ;;
  *) usage >&2; exit 2 ;;
esac
