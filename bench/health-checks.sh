#!/usr/bin/env bash
# Do 1,000 servers checked every second disturb traffic? Runs the jar twice in front of the same
# nginx on loopback: once without health checks, once with an http check on an upstream of
# 1,000 servers (nginx listening on 1,000 ports) at interval 1s, and for each run reports
# wrk's throughput and latency on a separate, unchecked route, the proxy's CPU while idle, the
# checks nginx saw per second and the sockets left in TIME_WAIT.
#
# Everything binds 127.0.0.1, everything started here is stopped on exit, and the run is
# bounded (about a minute and a half): usage: bench/health-checks.sh [-d SECONDS] [-c CONNECTIONS] [-n SERVERS]
set -euo pipefail

DURATION=10 CONNS=16 SERVERS=1000
while [ $# -gt 0 ]; do
  case "$1" in
    -d) DURATION=$2; shift ;;
    -c) CONNS=$2; shift ;;
    -n) SERVERS=$2; shift ;;
    *) echo "usage: bench/health-checks.sh [-d SECONDS] [-c CONNECTIONS] [-n SERVERS]" >&2; exit 2 ;;
  esac
  shift
done
for tool in wrk nginx java ss; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 2; }
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=$ROOT/target/upstream-proxy.jar
[ -f "$JAR" ] || (cd "$ROOT" && mvn -B -q package -DskipTests)

TMP=$(mktemp -d /tmp/upstream-proxy-health-bench.XXXXXX)
PIDS=()
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
cleanup() {
  stop_started
  rm -rf "$TMP"
}
trap cleanup EXIT

# A block of SERVERS+2 free ports below the ephemeral range (where port-0 listeners and
# outgoing connections live): traffic backend, proxy, then the checked servers.
EPHEMERAL=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
listening=$(ss -Htln | awk '{print $4}' | sed 's/.*://' | sort -u)
for try in $(seq 1 50); do
  BASE=$(( 10000 + RANDOM % (EPHEMERAL - 10000 - SERVERS - 2) ))
  clash=$(echo "$listening" | awk -v lo="$BASE" -v hi=$(( BASE + SERVERS + 1 )) '$1>=lo && $1<=hi' | head -1)
  [ -z "$clash" ] && break
done
BACKEND=$BASE PROXY=$(( BASE + 1 )) FIRST=$(( BASE + 2 ))

{
  echo "worker_processes 1; daemon off; pid $TMP/nginx.pid; error_log $TMP/nginx.err warn;"
  echo "worker_rlimit_nofile 8192; events { worker_connections 8192; }"
  echo "http { access_log off; client_body_temp_path $TMP; proxy_temp_path $TMP; fastcgi_temp_path $TMP; uwsgi_temp_path $TMP; scgi_temp_path $TMP;"
  echo "  server { listen 127.0.0.1:$BACKEND; location / { return 200 \"hello\\n\"; } }"
  echo "  log_format check \"\$server_port\"; server { access_log $TMP/checks.log check;"
  for i in $(seq 0 $(( SERVERS - 1 ))); do echo "    listen 127.0.0.1:$(( FIRST + i ));"; done
  echo "    location / { return 200 \"ok\\n\"; } }"
  echo "}"
} > "$TMP/nginx.conf"
nginx -c "$TMP/nginx.conf" -p "$TMP" & PIDS+=($!)

proxy_config() { # $1: "check" or "none"
  local servers="" hc=""
  for i in $(seq 0 $(( SERVERS - 1 ))); do servers+="{\"server\":\"127.0.0.1:$(( FIRST + i ))\"},"; done
  [ "$1" = check ] && hc=', "health_check": {"uri": "/health", "interval": "1s", "timeout": "1s"}'
  cat <<JSON
{ "listen": {"host": "127.0.0.1", "port": $PROXY},
  "upstreams": {
    "live": {"servers": [{"server": "127.0.0.1:$BACKEND"}]},
    "checked": {"servers": [${servers%,}]$hc} },
  "routes": [{"path": "/", "upstream": "live"}, {"path": "/checked/", "upstream": "checked"}] }
JSON
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # $1: "check" or "none"
  proxy_config "$1" > "$TMP/proxy-$1.json"
  java -XX:+UseParallelGC -Xms256m -Xmx256m -XX:+ExitOnOutOfMemoryError -jar "$JAR" --config "$TMP/proxy-$1.json" > "$TMP/proxy-$1.log" 2>&1 &
  local pid=$!; PIDS+=($pid)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PROXY/" >/dev/null 2>&1 && break; sleep 0.2; done
  wrk -t1 -c"$CONNS" -d5s "http://127.0.0.1:$PROXY/" >/dev/null # warm-up
  sleep 10 # let the first round of checks open their connections: measure the steady state
  : > "$TMP/checks.log"
  local t0; t0=$(cpu_ticks $pid)
  sleep "$DURATION" # idle: only health checks run
  local idle_cpu=$(( $(cpu_ticks $pid) - t0 )) checks; checks=$(wc -l < "$TMP/checks.log")
  local tw; tw=$(ss -Htan state time-wait | wc -l)
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PROXY/" > "$TMP/wrk-$1.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk-$1.txt")
  p50=$(awk '$1=="50%" {print $2}' "$TMP/wrk-$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$TMP/wrk-$1.txt")
  printf "%-10s %10s %8s %8s %14s %12s %10s\n" "$1" "$rps" "$p50" "$p99" \
    "$(awk -v t=$idle_cpu -v d=$DURATION 'BEGIN {printf "%.1f%%", t / d}')" \
    "$(( checks / DURATION ))" "$tw"
  kill $pid; wait $pid 2>/dev/null || true
}

echo "$SERVERS servers checked at 1s; wrk -c$CONNS for ${DURATION}s on the unchecked route"
printf "%-10s %10s %8s %8s %14s %12s %10s\n" checks req/s p50 p99 "idle CPU" "checks/s" time-wait
run none
run check
