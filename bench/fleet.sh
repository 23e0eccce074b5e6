#!/usr/bin/env bash
# Fleet mode benchmark (docs/fleet.md): a real etcd (the installed /usr/bin/etcd) and three
# proxies in one JVM, all on 127.0.0.1. Reports convergence latency p50/p99 over N changes
# (from the writing instance's 200 until the two others run the change) and write throughput,
# without and with conflicts. Everything it starts it stops (etcd by its Process); bounded:
# about N x 2 ms + 2 x SECONDS + start-up.
#
# usage: bench/fleet.sh [-n CHANGES] [-t CLIENTS] [-d SECONDS]     (defaults 1000, 6, 5)
#        bench/fleet.sh --ci                                         (a short run: 100 changes, 2 s)
set -euo pipefail

CHANGES=1000 THREADS=6 SECONDS_=5
while [ $# -gt 0 ]; do
  case "$1" in
    -n) CHANGES=$2; shift ;;
    -t) THREADS=$2; shift ;;
    -d) SECONDS_=$2; shift ;;
    --ci) CHANGES=100 SECONDS_=2 ;;
    *) echo "usage: bench/fleet.sh [-n CHANGES] [-t CLIENTS] [-d SECONDS] | --ci" >&2; exit 2 ;;
  esac
  shift
done
command -v etcd >/dev/null || { echo "bench: needs etcd (Debian: etcd-server)" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
mvn -B -q -o test-compile
test_classpath
exec java -Xmx512m -Dorg.eclipse.jetty.LEVEL=WARN -Dio.upstreamproxy.LEVEL=WARN -cp "$CP" \
  io.upstreamproxy.fleet.FleetBench "$CHANGES" "$THREADS" "$SECONDS_"
