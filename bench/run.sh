#!/usr/bin/env bash
# Side-by-side load benchmark on loopback: upstream-proxy (the jar) against nginx as a reverse
# proxy (and HAProxy when installed), all in front of the same nginx backend.
#
# Every server binds 127.0.0.1 on free high ports, everything started here is stopped on exit,
# and the run is bounded: warm-up + rounds x targets x duration (about 3 minutes by default).
# See README.md "Benchmark" for what the columns mean.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]
  -d SECONDS      length of one wrk round (default 10)
  -r N            rounds; each round runs every target once, order alternating (default 5)
  -c N            concurrent connections (default 50)
  -t N            wrk threads (default 2)
  -w SECONDS      JVM warm-up before the first round (default 90: on a busy 2-core machine
                  the JIT compilers keep a core busy for about a minute under load)
  --c1000         1,000 connections (same as -c 1000)
  --haproxy       also measure HAProxy (default: when `haproxy` is installed)
  --no-haproxy    skip HAProxy
  --bare          also measure the bare proxy: Jetty's own core reverse proxy on the same
                  server and client settings, nothing of ours on the request path (no routing,
                  balancer, counters, metrics, health or access log); needs `mvn test-compile`
  --raw           also measure the jar's server in front of an upstream connection of our own
                  instead of Jetty's HttpClient (io.upstreamproxy.proxy.RawProxy: a measuring
                  stick that forwards GETs only, not a proxy); needs `mvn test-compile`
  --direct        after the rounds, one more run against each server answering by itself, no
                  proxying: the jar's Jetty server with a core handler that answers at once, and
                  the nginx backend; splits the proxies' difference into the server half and the
                  upstream half; needs `mvn test-compile`
  --tomcat        also measure the WAR in Apache Tomcat 10.1 (Debian's tomcat10, or $CATALINA_HOME)
                  as the root webapp, with the same config, JVM options and access log as ours
  --nginx-workers N  nginx's worker_processes (default: the number of cores, which compares
                  the proxies at the same core count; 1 is nginx's own default)
  --routes N      our config gets N routes instead of one: N-1 that never match wrk's requests
                  (half host names, half path prefixes) before the catch-all, for the cost of
                  routing (compare with a run without it)
  --b-upstream KEYS  also measure a second instance of our jar, "oursb", whose upstream has these
                  extra members (JSON, e.g. '"queue": {"size": 100, "timeout": "1s"}'): the price
                  of a feature configured and idle; the rounds alternate every target and the
                  summary gives the median of oursb's CPU per request over ours'
  --b-routes N    oursb gets N routes (as --routes; ours keeps --routes): the price of routing
  --b-jar FILE    oursb runs this jar (another build) with ours' config: what a change bought,
                  back to back
  --no-access-log turn the access log off in every proxy (default: each logs as it does by default)
  --https         HTTPS round: ours and nginx both terminate TLS (HTTP/1.1, the same self-signed
                  EC P-256 certificate made here with openssl) in front of the plain backend;
                  HAProxy and the bare servlet are left out
  --h2            HTTP/2 rounds with h2load (-c 20 -m 10 unless H2LOAD_OPTS says otherwise): h2c
                  with prior knowledge, or h2 over TLS with --https; ours and nginx only. The
                  latency columns are then h2load's mean (it reports no percentiles)
  --jvm-opts STR  JVM options for our jar (default: $BENCH_JVM_OPTS or the recommended ones below)
  --profile FILE  profile our jar during the measured rounds: JFR (FILE.jfr) by default, or
                  async-profiler CPU stacks in collapsed form when ASYNC_PROFILER_LIB names
                  its libasyncProfiler.so
  --jar FILE      the jar to measure (default: target/upstream-proxy.jar, built when missing)
  --syscalls      after the rounds, one more wrk run against ours and nginx (and raw, with
                  --raw) under `perf stat`:
                  system calls and context switches per request (needs perf and root)
  --keep          keep the temp dir (configs, logs)
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=10 ROUNDS=5 CONNS=50 THREADS=2 WARMUP=90
H2=0 B_UPSTREAM= B_ROUTES= B_JAR= HAPROXY=auto BARE=0 RAW=0 DIRECT=0 TOMCAT=0 NGINX_WORKERS=$(nproc) ROUTES=1 ACCESS_LOG=1 PROFILE= KEEP=0 JAR=$ROOT/target/upstream-proxy.jar HTTPS=0 SYSCALLS=0
# The flags README.md recommends for the jar (see "Benchmark" there for why).
JVM_OPTS=${BENCH_JVM_OPTS-"-XX:+UseParallelGC -Xms256m -Xmx256m -XX:+ExitOnOutOfMemoryError"}

while [ $# -gt 0 ]; do
  case "$1" in
    -d) DURATION=$2; shift ;;
    -r) ROUNDS=$2; shift ;;
    -c) CONNS=$2; shift ;;
    -t) THREADS=$2; shift ;;
    -w) WARMUP=$2; shift ;;
    --c1000) CONNS=1000 ;;
    --haproxy) HAPROXY=1 ;;
    --no-haproxy) HAPROXY=0 ;;
    --bare) BARE=1 ;;
    --direct) DIRECT=1 ;;
    --raw) RAW=1 ;;
    --tomcat) TOMCAT=1 ;;
    --nginx-workers) NGINX_WORKERS=$2; shift ;;
    --routes) ROUTES=$2; shift ;;
    --b-upstream) B_UPSTREAM=$2; shift ;;
    --h2) H2=1 ;;
    --b-routes) B_ROUTES=$2; shift ;;
    --b-jar) B_JAR=$(realpath "$2"); shift ;;
    --no-access-log) ACCESS_LOG=0 ;;
    --https) HTTPS=1 ;;
    --jvm-opts) JVM_OPTS=$2; shift ;;
    --profile) PROFILE=$(realpath -m "$2"); shift ;;
    --jar) JAR=$(realpath "$2"); shift ;;
    --keep) KEEP=1 ;;
    --syscalls) SYSCALLS=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

for tool in wrk nginx java curl ss; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool (apt-get install wrk nginx-light curl)" >&2; exit 2; }
done
if [ "$SYSCALLS" = 1 ] && ! command -v perf >/dev/null; then
  echo "bench: --syscalls needs perf (apt-get install linux-perf)" >&2; exit 2
fi
if [ "$HAPROXY" = auto ]; then
  command -v haproxy >/dev/null && HAPROXY=1 || HAPROXY=0
fi
SCHEME=http
if [ "$HTTPS" = 1 ]; then
  command -v openssl >/dev/null || { echo "bench: --https needs openssl" >&2; exit 2; }
  SCHEME=https HAPROXY=0 BARE=0 RAW=0 DIRECT=0
fi
if [ ! -f "$JAR" ] || { [ "$BARE" = 1 ] && [ ! -d "$ROOT/target/test-classes" ]; }; then
  echo "bench: building the jar"
  (cd "$ROOT" && mvn -B -q package -DskipTests)
fi

TMP=$(mktemp -d /tmp/upstream-proxy-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ]; then echo "bench: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
free_port; B1=$PORT; free_port; B2=$PORT
if [ "$HTTPS" = 1 ]; then # one certificate for both proxies
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$TMP/tls.key" -out "$TMP/tls.crt" 2>/dev/null
  NGINX_LISTEN_OPTS="ssl; ssl_certificate $TMP/tls.crt; ssl_certificate_key $TMP/tls.key; ssl_protocols TLSv1.2 TLSv1.3"
  OURS_TLS=", \"tls\": { \"cert\": \"$TMP/tls.crt\", \"key\": \"$TMP/tls.key\" }, \"http2\": false"
else
  NGINX_LISTEN_OPTS="" OURS_TLS=""
fi
CURL_H2=()
if [ "$H2" = 1 ]; then # ours and nginx, both speaking HTTP/2 on their listener
  command -v h2load >/dev/null || { echo "bench: --h2 needs h2load (Debian: nghttp2-client)" >&2; exit 2; }
  HAPROXY=0 BARE=0 RAW=0 DIRECT=0 TOMCAT=0 SYSCALLS=0
  NGINX_LISTEN_OPTS="http2 $NGINX_LISTEN_OPTS"
  if [ "$HTTPS" = 1 ]; then
    OURS_TLS=${OURS_TLS/\"http2\": false/\"http2\": true}
    CURL_H2=(--http2)
  else
    OURS_TLS=", \"http2\": true"
    CURL_H2=(--http2-prior-knowledge) # nginx 1.22 speaks only HTTP/2 on a plain http2 listener
  fi
fi
free_port; P_OURSB=$PORT; free_port; P_TOMCAT=$PORT; free_port; P_OURS=$PORT; free_port; P_NGINX=$PORT; free_port; P_HAPROXY=$PORT; free_port; P_BARE=$PORT; free_port; P_JETTY=$PORT; free_port; P_RAW=$PORT

# --- the backend: nginx, one worker, two listeners, 200 with a small body ---------------------
cat >"$TMP/backend.conf" <<EOF
worker_processes 1;
pid $TMP/backend.pid;
error_log $TMP/backend.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $TMP/backend-body;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$B1;
    listen 127.0.0.1:$B2;
    location / { default_type text/plain; return 200 "hello from the bench backend\n"; }
  }
}
EOF

# --- the reference: nginx as reverse proxy (--nginx-workers, default the cores), keep-alive to the same two listeners
if [ "$ACCESS_LOG" = 1 ]; then NGINX_LOG="access_log $TMP/nginx-access.log;"; else NGINX_LOG="access_log off;"; fi
cat >"$TMP/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
worker_rlimit_nofile 16384;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err warn;
events { worker_connections 8192; }
http {
  $NGINX_LOG
  keepalive_requests 1000000; # as ours: no connection closed after 1,000 requests (HTTP/2 streams too)
  client_body_temp_path $TMP/nginx-body;
  proxy_temp_path $TMP/nginx-proxy;
  upstream backend {
    server 127.0.0.1:$B1;
    server 127.0.0.1:$B2;
    keepalive 512;
  }
  server {
    listen 127.0.0.1:$P_NGINX $NGINX_LISTEN_OPTS;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
    }
  }
}
EOF

# --- HAProxy, one thread, same backends (it logs nothing without a log target) -----------------
cat >"$TMP/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option forwardfor
frontend fe
  bind 127.0.0.1:$P_HAPROXY
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  default_backend be
backend be
  balance roundrobin
  http-reuse always
  server s1 127.0.0.1:$B1
  server s2 127.0.0.1:$B2
EOF

# --routes N: N-1 routes before the catch-all that wrk's requests never match.
other_routes() { # [N], default --routes
  local i
  for i in $(seq 1 $((${1:-$ROUTES} - 1))); do
    if [ $((i % 2)) = 0 ]; then printf '{ "host": "site-%d.example", "upstream": "backend" }, ' "$i"
    else printf '{ "path": "/app-%d/", "upstream": "backend" }, ' "$i"; fi
  done
}

# --- ours: the same two servers, round-robin, defaults otherwise ---------------------------------
cat >"$TMP/upstream-proxy.json" <<EOF
{
  "listen": { "host": "127.0.0.1", "port": $P_OURS$OURS_TLS },
  "upstreams": {
    "backend": {
      "balancer": "round-robin",
      "servers": [ { "server": "127.0.0.1:$B1" }, { "server": "127.0.0.1:$B2" } ]
    }
  },
  "routes": [ $(other_routes){ "path": "/", "upstream": "backend" } ],
  "state": { "file": "$TMP/state.json" }
}
EOF

start() { # name, command...: runs it in the background, output to $TMP/name.out
  local name=$1; shift
  "$@" >"$TMP/$name.out" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
}
ready() { # name, port[, scheme]: waits up to 30 s for a 200
  local i pid h2=()
  case "$1" in ours | oursb | nginx) h2=("${CURL_H2[@]}") ;; esac
  eval "pid=\$PID_$1"
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    if [ "$(curl -sk "${h2[@]}" -o /dev/null -w '%{http_code}' "${3:-http}://127.0.0.1:$2/" 2>/dev/null)" = 200 ]; then return 0; fi
    sleep 0.1
  done
  echo "bench: $1 did not answer 200 on 127.0.0.1:$2; its output:" >&2
  cat "$TMP/$1.out" >&2
  exit 1
}

OURS_LOG_OPT=()
[ "$ACCESS_LOG" = 1 ] || OURS_LOG_OPT=(--no-access-log)
# shellcheck disable=SC2086 # JVM_OPTS is a list of words
start backend nginx -p "$TMP" -e "$TMP/backend.err" -c "$TMP/backend.conf" -g 'daemon off;'
start nginx nginx -p "$TMP" -e "$TMP/nginx.err" -c "$TMP/nginx.conf" -g 'daemon off;'
start ours java $JVM_OPTS -jar "$JAR" --config "$TMP/upstream-proxy.json" "${OURS_LOG_OPT[@]}"
TARGETS=(ours nginx)
PORT_ours=$P_OURS PORT_nginx=$P_NGINX
if [ -n "$B_UPSTREAM$B_ROUTES$B_JAR" ]; then # the same config but for what --b-upstream and --b-routes change
  cat >"$TMP/upstream-proxy-b.json" <<EOF
{
  "listen": { "host": "127.0.0.1", "port": $P_OURSB$OURS_TLS },
  "upstreams": {
    "backend": {
      "balancer": "round-robin",${B_UPSTREAM:+ $B_UPSTREAM,}
      "servers": [ { "server": "127.0.0.1:$B1" }, { "server": "127.0.0.1:$B2" } ]
    }
  },
  "routes": [ $(other_routes "${B_ROUTES:-$ROUTES}"){ "path": "/", "upstream": "backend" } ],
  "state": { "file": "$TMP/state-b.json" }
}
EOF
  # shellcheck disable=SC2086
  start oursb java $JVM_OPTS -jar "${B_JAR:-$JAR}" --config "$TMP/upstream-proxy-b.json" "${OURS_LOG_OPT[@]}"
  TARGETS+=(oursb); PORT_oursb=$P_OURSB
fi
if [ "$HAPROXY" = 1 ]; then
  start haproxy haproxy -db -f "$TMP/haproxy.cfg"
  TARGETS+=(haproxy); PORT_haproxy=$P_HAPROXY
fi
if [ "$BARE" = 1 ]; then
  # shellcheck disable=SC2086
  JETTY_VERSION=$(sed -n 's:.*<jetty.version>\(.*\)</jetty.version>.*:\1:p' "$ROOT/pom.xml")
  JETTY_PROXY=${MAVEN_REPO:-$HOME/.m2/repository}/org/eclipse/jetty/jetty-proxy/$JETTY_VERSION/jetty-proxy-$JETTY_VERSION.jar
  [ -f "$JETTY_PROXY" ] || (cd "$ROOT" && mvn -B -q dependency:get -Dartifact="org.eclipse.jetty:jetty-proxy:$JETTY_VERSION")
  start bare java $JVM_OPTS -cp "$ROOT/target/test-classes:$JAR:$JETTY_PROXY" io.upstreamproxy.proxy.BareProxy "$P_BARE" "127.0.0.1:$B1" "127.0.0.1:$B2"
  TARGETS+=(bare); PORT_bare=$P_BARE
fi
if [ "$TOMCAT" = 1 ]; then
  # The WAR as the root webapp of a private Tomcat (its own CATALINA_BASE in $TMP), keep-alive
  # as long as nginx's, the same config file (its listen is ignored) and JVM options as ours.
  CATALINA_HOME=${CATALINA_HOME:-/usr/share/tomcat10}
  [ -x "$CATALINA_HOME/bin/catalina.sh" ] || { echo "bench: --tomcat needs Tomcat 10.1 (apt-get install tomcat10, or CATALINA_HOME)" >&2; exit 2; }
  WAR=$(dirname "$JAR")/upstream-proxy.war
  [ -f "$WAR" ] || { echo "bench: --tomcat needs $WAR (mvn -B -q package -DskipTests)" >&2; exit 2; }
  TC=$TMP/tomcat
  mkdir -p "$TC/conf" "$TC/logs" "$TC/temp" "$TC/webapps" "$TC/work"
  if [ -d "$CATALINA_HOME/etc" ]; then cp "$CATALINA_HOME"/etc/* "$TC/conf/"; else cp "$CATALINA_HOME"/conf/* "$TC/conf/"; fi
  cat >"$TC/conf/server.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector address="127.0.0.1" port="$P_TOMCAT" protocol="HTTP/1.1" connectionTimeout="20000"
               maxKeepAliveRequests="1000000" keepAliveTimeout="75000"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
XML
  cp "$WAR" "$TC/webapps/ROOT.war"
  TOMCAT_CONFIG=$TMP/upstream-proxy.json
  if [ "$ACCESS_LOG" != 1 ]; then # the WAR logs as its config says: here, nowhere
    sed 's|^{|{ "access_log": { "file": "/dev/null" },|' "$TMP/upstream-proxy.json" >"$TMP/tomcat-proxy.json"
    TOMCAT_CONFIG=$TMP/tomcat-proxy.json
  fi
  start tomcat env CATALINA_HOME="$CATALINA_HOME" CATALINA_BASE="$TC" CATALINA_TMPDIR="$TC/temp" CATALINA_PID= \
    JAVA_OPTS="$JVM_OPTS" CATALINA_OPTS= UPSTREAM_PROXY_CONFIG="$TOMCAT_CONFIG" "$CATALINA_HOME/bin/catalina.sh" run
  TARGETS+=(tomcat); PORT_tomcat=$P_TOMCAT
fi
if [ "$RAW" = 1 ]; then
  # shellcheck disable=SC2086
  start raw java $JVM_OPTS -cp "$ROOT/target/test-classes:$JAR" io.upstreamproxy.proxy.RawProxy "$P_RAW" "127.0.0.1:$B1" "127.0.0.1:$B2"
  TARGETS+=(raw); PORT_raw=$P_RAW
fi
if [ "$DIRECT" = 1 ]; then # measured after the rounds, not in them
  # shellcheck disable=SC2086
  start jetty java $JVM_OPTS -cp "$ROOT/target/test-classes:$JAR" io.upstreamproxy.proxy.BareServer "$P_JETTY"
  PORT_jetty=$P_JETTY PORT_backend=$B1
  ready jetty "$P_JETTY"
fi
ready backend "$B1"; ready backend "$B2"
for t in "${TARGETS[@]}"; do eval "ready $t \$PORT_$t $SCHEME"; done

# CPU seconds (user+system) used so far by a process and its children threads/processes.
cpu_ticks() {
  local pids total=0 p
  pids="$1 $(pgrep -P "$1" | tr '\n' ' ' || true)"
  for p in $pids; do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
rss_mib() { # RSS of a process and its children, MiB
  local pids
  pids=$(echo "$1" $(pgrep -P "$1") | tr ' ' ',')
  ps -o rss= -p "$pids" 2>/dev/null | awk '{s += $1} END {printf "%.0f", s / 1024}'
}

TICKS=$(getconf CLK_TCK)
WRK_TIMEOUT=2s
[ "$CONNS" -ge 500 ] && WRK_TIMEOUT=10s
# h2load's "time for request" figure (123us, 4.56ms, 1.2s) in microseconds
h2_us() { awk -v t="$1" 'BEGIN { v = t + 0; if (t ~ /us$/) print v; else if (t ~ /ms$/) print v * 1000; else print v * 1e6 }'; }
run_h2load() { # target, seconds -> sets R_* as run_wrk does
  local port pid before after out mean
  eval "port=\$PORT_$1 pid=\$PID_$1"
  before=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086
  out=$(h2load ${H2LOAD_OPTS:--c 20 -m 10} -D "$2" "$SCHEME://127.0.0.1:$port/" 2>&1) || { echo "bench: h2load failed against $1: $out" >&2; exit 1; }
  after=$(cpu_ticks "$pid")
  R_requests=$(echo "$out" | awk '/^requests:/ {print $8}') # succeeded
  R_status=$(echo "$out" | awk '/^status codes:/ {print $5 + $7 + $9}') # 3xx, 4xx, 5xx
  R_SOCK=$(echo "$out" | awk '/^requests:/ {print $10 + $12 + $14}') # failed, errored, timeout
  R_RPS=$(echo "$out" | awk '/^finished in/ {gsub(",", "", $4); printf "%.0f", $4}')
  mean=$(h2_us "$(echo "$out" | awk '/^time for request:/ {print $6}')")
  R_p50_us=$mean R_p99_us=$mean
  R_CPU=$(awk -v t=$((after - before)) -v hz="$TICKS" -v s="$2" 'BEGIN {printf "%.0f", 100 * t / hz / s}')
  R_CPU_US=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$R_requests" 'BEGIN {printf "%.0f", n ? 1e6 * t / hz / n : 0}')
  R_RSS=$(rss_mib "$pid")
}
run_wrk() { # target, seconds -> sets R_* from the RESULT line
  local port pid before after line
  if [ "$H2" = 1 ]; then run_h2load "$@"; return; fi
  eval "port=\$PORT_$1 pid=\$PID_$1"
  before=$(cpu_ticks "$pid")
  line=$(wrk -t"$THREADS" -c"$CONNS" -d"$2"s --timeout "$WRK_TIMEOUT" -s "$ROOT/bench/report.lua" \
    "$SCHEME://127.0.0.1:$port/" 2>&1 | grep '^RESULT') || { echo "bench: wrk failed against $1" >&2; exit 1; }
  after=$(cpu_ticks "$pid")
  eval "$(echo "${line#RESULT }" | tr ' ' '\n' | sed 's/^/R_/')"
  R_RPS=$(awk -v n="$R_requests" -v us="$R_duration_us" 'BEGIN {printf "%.0f", n / (us / 1e6)}')
  R_SOCK=$((R_connect + R_read + R_write + R_timeout))
  R_CPU=$(awk -v t=$((after - before)) -v hz="$TICKS" -v s="$2" 'BEGIN {printf "%.0f", 100 * t / hz / s}')
  R_CPU_US=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$R_requests" 'BEGIN {printf "%.0f", n ? 1e6 * t / hz / n : 0}')
  R_RSS=$(rss_mib "$pid")
}
ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us / 1000}'; }

echo "bench: backend 127.0.0.1:$B1,$B2; ours :$P_OURS; nginx :$P_NGINX$([ "$HAPROXY" = 1 ] && echo "; haproxy :$P_HAPROXY")$([ "$BARE" = 1 ] && echo "; bare :$P_BARE")$([ "$RAW" = 1 ] && echo "; raw :$P_RAW")"
[ "$HTTPS" = 1 ] && echo "bench: HTTPS round: TLS at ours and nginx (same EC P-256 certificate), plain HTTP/1.1 to the backend"
echo "bench: wrk -t$THREADS -c$CONNS -d${DURATION}s --timeout $WRK_TIMEOUT, $ROUNDS rounds; access log $([ "$ACCESS_LOG" = 1 ] && echo on || echo off); JVM: ${JVM_OPTS:-(defaults)}"
echo "bench: warming up ${WARMUP}s ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
run_wrk ours "$WARMUP"
[ "$BARE" = 1 ] && run_wrk bare "$WARMUP"
[ "$RAW" = 1 ] && run_wrk raw "$WARMUP"
[ "$TOMCAT" = 1 ] && run_wrk tomcat "$WARMUP"
[ -n "$B_UPSTREAM$B_ROUTES$B_JAR" ] && run_wrk oursb "$WARMUP"
run_wrk nginx 3
[ "$HAPROXY" = 1 ] && run_wrk haproxy 3

profiler() { # start|stop
  if [ -z "$PROFILE" ]; then return; fi
  if [ -n "${ASYNC_PROFILER_LIB:-}" ]; then
    local opts="start,event=cpu,interval=1ms${ASYNC_PROFILER_OPTS:+,$ASYNC_PROFILER_OPTS}"
    [ "$1" = stop ] && opts="stop,collapsed,file=$PROFILE"
    # quoted: jcmd would otherwise split the option string at '='
    jcmd "$PID_ours" JVMTI.agent_load "$ASYNC_PROFILER_LIB" "\"$opts\"" >/dev/null
  elif [ "$1" = start ]; then
    jcmd "$PID_ours" JFR.start name=bench settings=profile filename="$PROFILE" >/dev/null
  else
    jcmd "$PID_ours" JFR.stop name=bench >/dev/null
  fi
  [ "$1" = stop ] && echo "bench: profile of our jar in $PROFILE"
  return 0
}
profiler start

printf '\n%-5s %-8s %9s %8s %8s %7s %7s %5s %7s %6s\n' round target 'req/s' 'p50 ms' 'p99 ms' non2xx sockerr 'cpu%' 'cpu us' 'rss MB'
RATIOS=()
CPU_RATIOS=()
P99_RATIOS=()
BARE_RATIOS=()
BARE_CPU=()
TOMCAT_RATIOS=()
TOMCAT_CPU=()
B_RATIOS=()
B_CPU=()
ERRORS=0
for r in $(seq 1 "$ROUNDS"); do
  order=("${TARGETS[@]}")
  if [ $((r % 2)) = 0 ]; then # reverse every other round, so drift in load hits everyone alike
    order=(); for ((i = ${#TARGETS[@]} - 1; i >= 0; i--)); do order+=("${TARGETS[$i]}"); done
  fi
  declare -A RPS=() CPUUS=() P99=()
  for t in "${order[@]}"; do
    run_wrk "$t" "$DURATION"
    RPS[$t]=$R_RPS
    CPUUS[$t]=$R_CPU_US
    P99[$t]=$R_p99_us
    [ "$t" = ours ] && ERRORS=$((ERRORS + R_status + R_SOCK))
    printf '%-5s %-8s %9s %8s %8s %7s %7s %5s %7s %6s\n' "$r" "$t" "$R_RPS" "$(ms "$R_p50_us")" "$(ms "$R_p99_us")" \
      "$R_status" "$R_SOCK" "$R_CPU" "$R_CPU_US" "$R_RSS"
  done
  ratio=$(awk -v a="${RPS[ours]}" -v b="${RPS[nginx]}" 'BEGIN {printf "%.3f", a / b}')
  RATIOS+=("$ratio")
  CPU_RATIOS+=("$(awk -v a="${CPUUS[ours]}" -v b="${CPUUS[nginx]}" 'BEGIN {printf "%.2f", b ? a / b : 0}')")
  P99_RATIOS+=("$(awk -v a="${P99[ours]}" -v b="${P99[nginx]}" 'BEGIN {printf "%.2f", b ? a / b : 0}')")
  extra=""
  if [ "$BARE" = 1 ]; then
    bare=$(awk -v a="${RPS[ours]}" -v b="${RPS[bare]}" 'BEGIN {printf "%.3f", a / b}')
    BARE_RATIOS+=("$bare")
    cpu=$(awk -v a="${CPUUS[ours]}" -v b="${CPUUS[bare]}" 'BEGIN {printf "%.3f", a / b}')
    BARE_CPU+=("$cpu")
    extra="  ours/bare $bare (cpu per request $cpu)"
  fi
  [ "$RAW" = 1 ] && extra="$extra  raw/nginx $(awk -v a="${RPS[raw]}" -v b="${RPS[nginx]}" 'BEGIN {printf "%.3f", a / b}') (cpu per request $(awk -v a="${CPUUS[raw]}" -v b="${CPUUS[nginx]}" 'BEGIN {printf "%.2f", b ? a / b : 0}'))"
  if [ "$TOMCAT" = 1 ]; then
    TOMCAT_RATIOS+=("$(awk -v a="${RPS[tomcat]}" -v b="${RPS[nginx]}" 'BEGIN {printf "%.3f", a / b}')")
    TOMCAT_CPU+=("$(awk -v a="${CPUUS[tomcat]}" -v b="${CPUUS[nginx]}" 'BEGIN {printf "%.2f", b ? a / b : 0}')")
    extra="$extra  tomcat/nginx ${TOMCAT_RATIOS[-1]} (cpu per request ${TOMCAT_CPU[-1]})"
  fi
  if [ -n "$B_UPSTREAM$B_ROUTES$B_JAR" ]; then
    B_RATIOS+=("$(awk -v a="${RPS[oursb]}" -v b="${RPS[ours]}" 'BEGIN {printf "%.3f", a / b}')")
    B_CPU+=("$(awk -v a="${CPUUS[oursb]}" -v b="${CPUUS[ours]}" 'BEGIN {printf "%.3f", b ? a / b : 0}')")
    extra="$extra  oursb/ours ${B_RATIOS[-1]} (cpu per request ${B_CPU[-1]})"
  fi
  [ "$HAPROXY" = 1 ] && extra="$extra  ours/haproxy $(awk -v a="${RPS[ours]}" -v b="${RPS[haproxy]}" 'BEGIN {printf "%.3f", a / b}')"
  echo "      ratio ours/nginx $ratio$extra"
done

profiler stop

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
MEDIAN=$(median "${RATIOS[@]}")
echo
echo "median ratio ours/nginx: $MEDIAN (rounds: ${RATIOS[*]}); our errors: $ERRORS"
if [ "$TOMCAT" = 1 ]; then
  echo "median ratio tomcat/nginx: $(median "${TOMCAT_RATIOS[@]}") (rounds: ${TOMCAT_RATIOS[*]}); median CPU per request tomcat/nginx: $(median "${TOMCAT_CPU[@]}") (rounds: ${TOMCAT_CPU[*]}); the WAR's target (issue 25): >= 0.6 at <= 2x"
fi
if [ -n "$B_UPSTREAM$B_ROUTES$B_JAR" ]; then
  echo "median ratio oursb/ours req/s: $(median "${B_RATIOS[@]}") (rounds: ${B_RATIOS[*]}); median CPU per request oursb/ours: $(median "${B_CPU[@]}") (rounds: ${B_CPU[*]})"
fi
if [ "$BARE" = 1 ]; then
  echo "median ratio ours/bare req/s: $(median "${BARE_RATIOS[@]}") (rounds: ${BARE_RATIOS[*]})"
  echo "median ratio ours/bare CPU per request (cost of our features): $(median "${BARE_CPU[@]}") (rounds: ${BARE_CPU[*]})"
fi
CPU_MEDIAN=$(median "${CPU_RATIOS[@]}")
P99_MEDIAN=$(median "${P99_RATIOS[@]}")
echo "median CPU per request ours/nginx: $CPU_MEDIAN (rounds: ${CPU_RATIOS[*]}); median p99 ours/nginx: $P99_MEDIAN (rounds: ${P99_RATIOS[*]})"
# Rung 0.8 (issue 15): throughput >= 0.8 of nginx's, CPU per request <= 2x, p99 <= 2x at c50
# (3x at 1,000 connections), no errors. RSS is in the table; the features' cost is the --bare line.
P99_LIMIT=2
[ "$CONNS" -ge 1000 ] && P99_LIMIT=3
if awk -v m="$MEDIAN" -v c="$CPU_MEDIAN" -v p="$P99_MEDIAN" -v l="$P99_LIMIT" 'BEGIN {exit !(m >= 0.8 && c <= 2 && p <= l)}' && [ "$ERRORS" = 0 ]; then
  echo "rung 0.8 (ratio >= 0.8, CPU <= 2x, p99 <= ${P99_LIMIT}x, zero errors): PASS"
else
  echo "rung 0.8 (ratio >= 0.8, CPU <= 2x, p99 <= ${P99_LIMIT}x, zero errors): FAIL"
fi

# --- each server answering by itself (--direct): one warm-up and one run each -----------------
if [ "$DIRECT" = 1 ]; then
  echo
  echo "servers answering by themselves, no proxying, one ${DURATION}s run each:"
  run_wrk jetty $((WARMUP < 30 ? WARMUP : 30)) # JIT warm-up of the Jetty server
  for t in jetty backend; do
    run_wrk "$t" "$DURATION"
    eval "D_RPS_$t=\$R_RPS D_CPU_$t=\$R_CPU_US"
    printf '%-8s req/s %7s  p99 %6s ms  cpu %3s%%  cpu per request %3s us\n' "$t" "$R_RPS" "$(ms "$R_p99_us")" "$R_CPU" "$R_CPU_US"
  done
  echo "jetty/nginx answering by themselves: req/s $(awk -v a="$D_RPS_jetty" -v b="$D_RPS_backend" 'BEGIN {printf "%.3f", a / b}'), CPU per request $(awk -v a="$D_CPU_jetty" -v b="$D_CPU_backend" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
fi

# --- system calls per request (--syscalls): one more run of each proxy under perf stat ---------
SYSCALL_EVENTS=syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_writev,syscalls:sys_enter_write
SYSCALL_EVENTS=$SYSCALL_EVENTS,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex,context-switches
syscalls_per_request() { # target -> prints one line: each event's count over the run / wrk's requests
  local pid pids perf_pid
  eval "pid=\$PID_$1"
  pids=$(echo "$pid" $(pgrep -P "$pid") | tr ' ' ',') # nginx: the master and its worker
  perf stat -x, -e "$SYSCALL_EVENTS" -p "$pids" -o "$TMP/perf-$1.csv" -- sleep "$DURATION" 2>/dev/null &
  perf_pid=$!
  run_wrk "$1" "$DURATION"
  wait "$perf_pid" || { echo "bench: perf stat failed for $1 (root and the syscalls tracepoints are needed)" >&2; return 0; }
  awk -F, -v n="$R_requests" -v t="$1" '
    $3 ~ /sys_enter_|context-switches/ { name = $3; sub(/.*sys_enter_/, "", name); c[name] = $1 }
    END { printf "%-6s read %.2f  recvfrom %.2f  writev %.2f  write %.2f  epoll_wait %.2f  epoll_ctl %.2f  futex %.2f  context switches %.2f\n",
            t, c["read"] / n, c["recvfrom"] / n, c["writev"] / n, c["write"] / n, c["epoll_wait"] / n, c["epoll_ctl"] / n,
            c["futex"] / n, c["context-switches"] / n }' "$TMP/perf-$1.csv"
}
if [ "$SYSCALLS" = 1 ]; then
  echo
  echo "system calls per request, one ${DURATION}s run each (perf stat):"
  syscalls_per_request ours
  syscalls_per_request nginx
  if [ "$RAW" = 1 ]; then syscalls_per_request raw; fi
fi
