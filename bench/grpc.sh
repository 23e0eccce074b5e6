#!/usr/bin/env bash
# Unary gRPC calls through upstream-proxy (the jar, an h2c listener in front of an upstream with
# "protocol": "h2c") against the same calls made directly to the server and through nginx's
# grpc_pass, all on loopback. The server is grpc-java (Netty) from the test sources
# (io.upstreamproxy.testing.GrpcEcho: test.Echo/Unary answers "<name>:<request>"); the client
# is h2load sending one gRPC message per request (POST, content-type application/grpc, te:
# trailers), C connections x M streams each.
#
# For each target and round: calls per second, mean time per call, and the CPU the proxy spent
# per call (user+system of its process, from /proc; the direct target has no proxy). h2load
# counts a call as succeeded on HTTP 200 (a call still open when the run's time is up counts as
# failed); gRPC puts its status in trailers, so the script checks one call's grpc-status with
# curl on each target before measuring.
#
# Everything binds 127.0.0.1 on free high ports, everything started here is stopped on exit, and
# the run is bounded: warm-up + rounds x 3 targets x duration (about 2 minutes by default).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/grpc.sh [options]
  -d SECONDS   length of one h2load run (default 10)
  -r N         rounds, each running every target once (default 3)
  -c N         client connections (default 10)
  -m N         concurrent streams per connection (default 10)
  -w SECONDS   warm-up of the JVMs before the first round (default 30)
  --nginx-workers N  nginx's worker_processes (default: the number of cores)
  --keep       keep the temp dir (configs, logs)
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=10 ROUNDS=3 CONNS=10 STREAMS=10 WARMUP=30 NGINX_WORKERS=$(nproc) KEEP=0
JVM_OPTS=${BENCH_JVM_OPTS-"-XX:+UseParallelGC -Xms256m -Xmx256m -XX:+ExitOnOutOfMemoryError"}
while [ $# -gt 0 ]; do
  case "$1" in
    -d) DURATION=$2; shift ;;
    -r) ROUNDS=$2; shift ;;
    -c) CONNS=$2; shift ;;
    -m) STREAMS=$2; shift ;;
    -w) WARMUP=$2; shift ;;
    --nginx-workers) NGINX_WORKERS=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
for tool in h2load nginx java curl mvn ss; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 2; }
done

cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
[ -f target/upstream-proxy.jar ] || mvn -B -q package -DskipTests
[ -f target/test-classes/io/upstreamproxy/testing/GrpcEcho.class ] || mvn -B -q test-compile
test_classpath

TMP=$(mktemp -d /tmp/upstream-proxy-grpc-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then echo "bench: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

start() { # name, command...: in the background, output to $TMP/name.out, pid in PID_name
  local name=$1; shift
  "$@" >"$TMP/$name.out" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
}
ready() { # port: waits up to 60 s for a listener
  local i
  for i in $(seq 1 600); do
    [ -n "$(ss -Htln "( sport = :$1 )")" ] && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on $1" >&2; exit 1
}

# --- the server: grpc-java, its port from its first line
start server java -Xms256m -Xmx256m -cp "$CP" io.upstreamproxy.testing.GrpcEcho bench
for i in $(seq 1 600); do
  GRPC=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$TMP/server.out")
  [ -n "$GRPC" ] && break
  sleep 0.1
done
[ -n "${GRPC:-}" ] || { echo "bench: the gRPC server did not start" >&2; cat "$TMP/server.out" >&2; exit 1; }

# --- ours: an h2c listener, one upstream over h2c, the default access log
free_port; OURS=$PORT
cat >"$TMP/upstream-proxy.json" <<EOF
{
  "listen": { "host": "127.0.0.1", "port": $OURS, "http2": true },
  "upstreams": { "grpc": { "protocol": "h2c", "servers": [ { "server": "127.0.0.1:$GRPC" } ] } },
  "routes": [ { "path": "/", "upstream": "grpc" } ],
  "access_log": { "file": "$TMP/ours-access.log" },
  "state": { "file": "$TMP/state.json" }
}
EOF
# shellcheck disable=SC2086
start ours java $JVM_OPTS -jar target/upstream-proxy.jar --config "$TMP/upstream-proxy.json"

# --- nginx: grpc_pass with keep-alive to the same server, its access log on as ours
free_port; NGINX=$PORT
cat >"$TMP/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log $TMP/nginx-access.log;
  keepalive_requests 1000000;  # nginx's default, 1000, ends each client connection (GOAWAY) after as many calls
  client_body_temp_path $TMP/body;
  upstream grpc { server 127.0.0.1:$GRPC; keepalive 32; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$NGINX http2;
    http2_max_concurrent_streams 1000;
    location / { grpc_pass grpc://grpc; }
  }
}
EOF
start nginx nginx -p "$TMP" -c "$TMP/nginx.conf" -g 'daemon off;'
ready "$GRPC"; ready "$OURS"; ready "$NGINX"

# One gRPC message: no compression, 4-byte length, the UTF-8 text (GrpcEcho's marshaller).
MESSAGE=hello
{ printf '\x00\x00\x00\x00'; printf "\\x$(printf %02x ${#MESSAGE})"; printf '%s' "$MESSAGE"; } >"$TMP/call.bin"
for t in direct:$GRPC ours:$OURS nginx:$NGINX; do
  status=$(curl -s --http2-prior-knowledge -o /dev/null -D - --data-binary @"$TMP/call.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:${t#*:}/test.Echo/Unary" | tr -d '\r' | sed -n 's/^grpc-status: //p' | tail -1)
  [ "$status" = 0 ] || { echo "bench: a call to ${t%%:*} ended with grpc-status '${status}'" >&2; exit 1; }
done

TICKS=$(getconf CLK_TCK)
cpu_ticks() { # user+system ticks of a process and its children
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
h2() { # port, seconds -> sets CALLS, FAILED, RPS, MEAN_MS
  local out
  out=$(h2load -c "$CONNS" -m "$STREAMS" -D "$2" -d "$TMP/call.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$1/test.Echo/Unary" 2>&1)
  CALLS=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p')
  FAILED=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) failed.*/\1/p')
  RPS=$(echo "$out" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p')
  MEAN_MS=$(echo "$out" | awk '/^time for request:/ {v=$6; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+/, "", v); if (u == "us") v /= 1000; if (u == "s") v *= 1000; printf "%.2f", v}')
}

echo "bench: $(nproc) cores, warming up ${WARMUP}s, then $ROUNDS rounds of ${DURATION}s per target, $CONNS connections x $STREAMS streams"
h2 "$OURS" "$WARMUP" >/dev/null
h2 "$NGINX" 5 >/dev/null
printf '\n%-5s %-7s %9s %8s %7s %13s\n' round target 'calls/s' 'mean ms' failed 'proxy cpu us'
declare -A SUM
for r in $(seq 1 "$ROUNDS"); do
  for t in direct ours nginx; do
    case $t in direct) port=$GRPC pid= ;; ours) port=$OURS pid=$PID_ours ;; nginx) port=$NGINX pid=$PID_nginx ;; esac
    before=0; [ -n "$pid" ] && before=$(cpu_ticks "$pid")
    h2 "$port" "$DURATION"
    cpu=-
    if [ -n "$pid" ]; then
      after=$(cpu_ticks "$pid")
      cpu=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$CALLS" 'BEGIN {printf "%.0f", n ? 1e6 * t / hz / n : 0}')
      SUM[cpu_$t]=$(awk -v a="${SUM[cpu_$t]:-0}" -v b="$cpu" 'BEGIN {print a + b}')
    fi
    SUM[rps_$t]=$(awk -v a="${SUM[rps_$t]:-0}" -v b="$RPS" 'BEGIN {print a + b}')
    printf '%-5s %-7s %9.0f %8s %7s %13s\n' "$r" "$t" "$RPS" "$MEAN_MS" "$FAILED" "$cpu"
  done
done
echo
awk -v o="${SUM[rps_ours]}" -v n="${SUM[rps_nginx]}" -v d="${SUM[rps_direct]}" -v co="${SUM[cpu_ours]}" -v cn="${SUM[cpu_nginx]}" -v r="$ROUNDS" \
  'BEGIN {printf "mean calls/s: direct %.0f, ours %.0f, nginx %.0f; ours/nginx %.2f, cpu per call ours/nginx %.2f (%.0f us / %.0f us)\n", d / r, o / r, n / r, o / n, co / cn, co / r, cn / r}'
