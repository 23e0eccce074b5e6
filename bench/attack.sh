#!/usr/bin/env bash
# Adversarial clients against the jar, started with the production flags: does the proxy keep
# serving normal requests while they attack and after, with bounded memory and threads, and
# without counting any client's misbehaviour against a server? See docs/hardening.md.
set -euo pipefail

usage() {
  cat <<EOF
usage: bench/attack.sh [--short] [-c CONNECTIONS] [-d SECONDS] [--cases "LIST"] [--jar FILE] [--keep]
  --short         about a minute: 1,000 connections, 8 s per attack (the full run: 4,000, 30 s; about 5 min)
  -c N            connections per slowhttptest attack (default 4000)
  -d SECONDS      length of each attack (default 30)
  --cases LIST    a subset of: slow-headers slow-body slow-read abandoned-uploads oversized-heads malformed-framing
  --jar FILE      the jar to attack (default: target/upstream-proxy.jar, built when missing)
  --keep          keep the temp dir (configs, logs)
Needs slowhttptest, nginx, curl, python3, java. Prints one table row per attack:
monitor = sequential normal GETs (curl, 5 s limit each) during the attack, then 20 after it;
RSS and threads = the jar's peak during the attack; fails = failures counted against the
upstream's server (the API's "fails"), which must stay 0; log_warn = WARN lines the jar wrote
to its log during the attack (a client must not be able to fill the operator's disk).
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONNS=4000 ATTACK=30 RATE=500 KEEP=0 JAR=$ROOT/target/upstream-proxy.jar
CASES="slow-headers slow-body slow-read abandoned-uploads oversized-heads malformed-framing"
# The production flags README.md recommends (see its Benchmark section).
JVM_OPTS=${ATTACK_JVM_OPTS-"-XX:+UseParallelGC -Xms256m -Xmx256m -XX:+ExitOnOutOfMemoryError"}

while [ $# -gt 0 ]; do
  case "$1" in
    --short) CONNS=1000 ATTACK=8 RATE=250 ;;
    -c) CONNS=$2; shift ;;
    -d) ATTACK=$2; shift ;;
    --cases) CASES=$2; shift ;;
    --jar) JAR=$(realpath "$2"); shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "attack: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

for tool in slowhttptest nginx curl python3 java ss; do
  command -v "$tool" >/dev/null || { echo "attack: needs $tool (apt-get install slowhttptest nginx-light curl python3)" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ ! -f "$JAR" ]; then
  echo "attack: building the jar"
  (cd "$ROOT" && mvn -B -q package -DskipTests)
fi

TMP=$(mktemp -d /tmp/upstream-proxy-attack.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -f "$TMP/backend.pid" ]; then kill "$(cat "$TMP/backend.pid")" 2>/dev/null || true; fi
  if [ "$KEEP" = 1 ]; then echo "attack: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
free_port; BACKEND=$PORT; free_port; PROXY=$PORT

# --- the backend: nginx, one worker; / a small answer, /page 64 KiB, /upload takes any body ---
mkdir -p "$TMP/www"
head -c 65536 /dev/zero | tr '\0' 'p' > "$TMP/www/page"
cat >"$TMP/backend.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
pid $TMP/backend.pid;
error_log $TMP/backend.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $TMP/backend-body;
  client_max_body_size 0;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$BACKEND;
    root $TMP/www;
    location = / { default_type text/plain; return 200 "ok\n"; }
    location = /page { default_type text/plain; }
    location = /upload { default_type text/plain; return 200 "ok\n"; }
  }
}
EOF
nginx -c "$TMP/backend.conf" -p "$TMP" -e "$TMP/backend.err"

cat >"$TMP/proxy.json" <<EOF
{ "listen": { "host": "127.0.0.1", "port": $PROXY },
  "upstreams": { "web": { "servers": [ { "server": "127.0.0.1:$BACKEND", "max_fails": 1, "fail_timeout": "60s" } ] } },
  "routes": [ { "path": "/", "upstream": "web" } ] }
EOF
# shellcheck disable=SC2086
java $JVM_OPTS -jar "$JAR" --config "$TMP/proxy.json" --no-access-log > "$TMP/proxy.log" 2>&1 &
JPID=$!; PIDS+=($JPID)
for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$PROXY/" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "http://127.0.0.1:$PROXY/" >/dev/null || { echo "attack: the proxy did not start:" >&2; cat "$TMP/proxy.log" >&2; exit 1; }

monitor() { # $1: output file; until $1.stop exists
  while [ ! -f "$1.stop" ]; do
    curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$PROXY/" >> "$1" || true
    sleep 0.1
  done
}

sampler() { # $1: output file; RSS (KiB) and threads of the jar every 0.5 s
  while [ ! -f "$1.stop" ] && [ -d "/proc/$JPID" ]; do
    awk '/^VmRSS/ {r=$2} /^Threads/ {t=$2} END {print r, t}' "/proc/$JPID/status" >> "$1" 2>/dev/null || true
    sleep 0.5
  done
}

# "ok/total ok% p99_ms" of a monitor file
summary() {
  local n ok p99
  n=$(wc -l < "$1")
  if [ "$n" -eq 0 ]; then echo "0/0 0.0 -"; return; fi
  ok=$(awk '$1 == 200' "$1" | wc -l)
  p99=$(awk '{print $2}' "$1" | sort -n | awk -v n="$n" 'BEGIN {i = int(n * 0.99); if (i < 1) i = 1} NR == i {printf "%d", $1 * 1000}')
  awk -v ok="$ok" -v n="$n" -v p="$p99" 'BEGIN {printf "%d/%d %.1f %s\n", ok, n, 100 * ok / n, p}'
}

server_fails() {
  curl -s "http://127.0.0.1:$PROXY/api/upstreams/web" | python3 -c '
import json, sys
servers = json.load(sys.stdin)["servers"]
print(sum(s["fails"] for s in servers), ",".join(s["state"] for s in servers))' 2>/dev/null || echo "? ?"
}

attack() { # $1: case name
  case "$1" in
    slow-headers) slowhttptest -H -c "$CONNS" -r "$RATE" -i 10 -l "$ATTACK" -p 5 -u "http://127.0.0.1:$PROXY/" ;;
    slow-body) slowhttptest -B -c "$CONNS" -r "$RATE" -i 10 -s 16384 -l "$ATTACK" -p 5 -u "http://127.0.0.1:$PROXY/upload" ;;
    slow-read) slowhttptest -X -c "$CONNS" -r "$RATE" -w 32 -y 64 -n 5 -z 32 -k 3 -l "$ATTACK" -p 5 -u "http://127.0.0.1:$PROXY/page" ;;
    abandoned-uploads) python3 "$ROOT/bench/attack_clients.py" abandon 127.0.0.1 "$PROXY" "$ATTACK" 200 ;;
    oversized-heads) python3 "$ROOT/bench/attack_clients.py" oversize 127.0.0.1 "$PROXY" "$ATTACK" 100 ;;
    malformed-framing) python3 "$ROOT/bench/attack_clients.py" framing 127.0.0.1 "$PROXY" "$ATTACK" 100 ;;
    *) echo "attack: unknown case $1" >&2; exit 2 ;;
  esac
}

tool_note() { # the attack tool's verdict, one short phrase
  if grep -q 'sent=' "$1"; then grep 'sent=' "$1" | tail -1 | cut -c1-60; return; fi
  local v; v=$(sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -o 'service available:.*' | tail -1 | tr -s ' ' | cut -c1-40)
  echo "${v:-see log}"
}

printf 'attack.sh: %s connections per slowhttptest attack, %s s each; jar flags: %s\n' "$CONNS" "$ATTACK" "$JVM_OPTS"
printf '%-18s %-16s %-7s %-8s %-8s %-8s %-8s %-10s %-9s %s\n' case during ok% p99_ms after_ok% rss_MiB threads fails log_warn tool
for c in $CASES; do
  during="$TMP/$c.during" after="$TMP/$c.after" samples="$TMP/$c.samples"
  : > "$during"; : > "$after"; : > "$samples"
  warn_before=$(grep -c ' WARN ' "$TMP/proxy.log" || true)
  monitor "$during" & MPID=$!
  sampler "$samples" & SPID=$!
  timeout $((ATTACK + 60)) bash -c "$(declare -f attack); ROOT=$ROOT CONNS=$CONNS RATE=$RATE ATTACK=$ATTACK PROXY=$PROXY attack $c" > "$TMP/$c.log" 2>&1 || true
  touch "$during.stop" "$samples.stop"
  wait "$MPID" "$SPID" 2>/dev/null || true
  for _ in $(seq 1 20); do
    curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$PROXY/" >> "$after" || true
  done
  read -r d_frac d_pct d_p99 < <(summary "$during")
  read -r _ a_pct _ < <(summary "$after")
  peak=$(awk '{if ($1 > r) r = $1; if ($2 > t) t = $2} END {printf "%d %d", r / 1024, t}' "$samples")
  read -r fails states < <(server_fails)
  warns=$(( $(grep -c ' WARN ' "$TMP/proxy.log" || true) - warn_before ))
  alive=""; [ -d "/proc/$JPID" ] || alive=" PROXY EXITED"
  printf '%-18s %-16s %-7s %-8s %-8s %-8s %-8s %-10s %-9s %s%s\n' "$c" "$d_frac" "$d_pct" "$d_p99" "$a_pct" ${peak} "$fails" "$warns" "$(tool_note "$TMP/$c.log")" "$alive"
  [ -z "$alive" ] || break
  sleep 2 # let the attack's sockets close before the next one
done
