#!/usr/bin/env bash
# How long do start-up and a reload take with 1,000 servers? Starts the jar on a config of one
# consistent-hash upstream (the costliest balancer to rebuild: a hash ring of 160 points per
# weight unit) with N servers, reports the time to the listening line, then times
# POST /api/reload R times: the first with every weight changed and ten servers added (rings and
# lists rebuilt), the others unchanged. Nothing listens on the server addresses: no traffic is
# sent, only the reload path is measured.
#
# Binds 127.0.0.1 only, stops what it started, bounded (well under a minute):
# usage: bench/reload-1000.sh [-n SERVERS] [-r RELOADS]
set -euo pipefail

SERVERS=1000 RELOADS=5
while [ $# -gt 0 ]; do
  case "$1" in
    -n) SERVERS=$2; shift ;;
    -r) RELOADS=$2; shift ;;
    *) echo "usage: bench/reload-1000.sh [-n SERVERS] [-r RELOADS]" >&2; exit 2 ;;
  esac
  shift
done
for tool in java curl; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 2; }
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=$ROOT/target/upstream-proxy.jar
[ -f "$JAR" ] || (cd "$ROOT" && mvn -B -q package -DskipTests)

TMP=$(mktemp -d /tmp/upstream-proxy-reload-bench.XXXXXX)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

config() { # $1 = count, $2 = weight
  local servers="" i
  for ((i = 0; i < $1; i++)); do
    servers+="${servers:+, }{\"server\": \"10.$((i / 62500)).$((i / 250 % 250)).$((i % 250 + 1)):80\", \"weight\": $2}"
  done
  cat > "$TMP/proxy.json" <<JSON
{"listen": {"host": "127.0.0.1", "port": 0},
 "upstreams": {"backend": {"balancer": "consistent-hash", "hash_key": "path", "servers": [$servers]}},
 "state": {"file": "state.json"}}
JSON
}

ms() { date +%s%3N; }

config "$SERVERS" 1
start=$(ms)
java -jar "$JAR" --config "$TMP/proxy.json" --no-access-log > "$TMP/out" 2> "$TMP/err" &
PID=$!
until grep -q "listening on" "$TMP/out" 2>/dev/null; do
  kill -0 "$PID" 2>/dev/null || { cat "$TMP/err" >&2; exit 1; }
  sleep 0.05
done
echo "start-up with $SERVERS servers: $(( $(ms) - start )) ms to the listening line (JVM start included)"
PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$TMP/out")

config $((SERVERS + 10)) 2
for ((r = 1; r <= RELOADS; r++)); do
  t=$(ms)
  code=$(curl -s -o "$TMP/reload" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/api/reload")
  what=$([ "$r" = 1 ] && echo "every weight changed, 10 servers added" || echo "nothing changed")
  echo "reload $r ($what): HTTP $code in $(( $(ms) - t )) ms"
done
