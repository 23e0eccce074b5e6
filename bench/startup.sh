#!/usr/bin/env bash
# Start-up to the first proxied answer: the time from starting the jar (conf/jvm.options' flags)
# to the first 200 it relays from an nginx backend, polled every 10 ms with curl. N starts with
# the JVM's default class data sharing, then N with an application class-data archive (AppCDS,
# -XX:SharedArchiveFile) that one extra run made at its exit (-XX:ArchiveClassesAtExit, JDK 13+).
#
# Bounded: 2 x N starts of a few seconds each, and the archive's run. Everything it starts binds
# 127.0.0.1 and is stopped by PID on exit.
#
# usage: bench/startup.sh [-n N]      (default 5)
set -euo pipefail

N=5
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift ;;
    *) echo "usage: bench/startup.sh [-n N]" >&2; exit 2 ;;
  esac
  shift
done
for tool in nginx curl java; do command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 2; }; done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=$ROOT/target/upstream-proxy.jar
[ -f "$JAR" ] || (cd "$ROOT" && mvn -B -q package -DskipTests)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
JVM_OPTS=$(grep -v '^\s*#' "$ROOT/src/dist/conf/jvm.options" 2>/dev/null | tr '\n' ' ' || true)
[ -n "$JVM_OPTS" ] || JVM_OPTS="-XX:+UseParallelGC -Xms256m -Xmx256m -XX:+ExitOnOutOfMemoryError"

TMP=$(mktemp -d /tmp/upstream-proxy-startup.XXXXXX)
PIDS=()
cleanup() {
  stop_started
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port; B=$PORT; free_port; P=$PORT
hello_backend "$B"
cat >"$TMP/proxy.json" <<EOF
{
  "listen": { "host": "127.0.0.1", "port": $P },
  "upstreams": { "backend": { "servers": [ { "server": "127.0.0.1:$B" } ] } },
  "routes": [ { "path": "/", "upstream": "backend" } ]
}
EOF

# one start: prints the milliseconds from exec to the first 200 relayed, then stops the jar
one() { # extra JVM options...
  local start pid ms=
  start=$(date +%s%N)
  # shellcheck disable=SC2086
  java $JVM_OPTS "$@" -jar "$JAR" --config "$TMP/proxy.json" --no-access-log >"$TMP/proxy.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 3000); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/" 2>/dev/null)" = 200 ]; then
      ms=$((($(date +%s%N) - start) / 1000000))
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ -n "$ms" ] || { echo "bench: the jar did not answer; its output:" >&2; cat "$TMP/proxy.out" >&2; exit 1; }
  echo "$ms"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$B/" && break; sleep 0.1; done
echo "bench: $N starts each, JVM: $JVM_OPTS($(java -version 2>&1 | head -1)), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
plain=()
for _ in $(seq 1 "$N"); do plain+=("$(one)"); done
echo "default CDS: median $(median "${plain[@]}") ms (${plain[*]})"
one -XX:ArchiveClassesAtExit="$TMP/app.jsa" >/dev/null # the archive, written as that run exits
cds=()
for _ in $(seq 1 "$N"); do cds+=("$(one -XX:SharedArchiveFile="$TMP/app.jsa")"); done
echo "AppCDS:      median $(median "${cds[@]}") ms (${cds[*]}); archive $(du -m "$TMP/app.jsa" | cut -f1) MiB"
