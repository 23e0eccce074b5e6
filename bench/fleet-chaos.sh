#!/usr/bin/env bash
# Fleet mode under faults (docs/fleet.md, "Chaos"): a 3-member etcd and three proxies (the
# executable jar, each its own process), all on 127.0.0.1; six writers and a delete/re-add cycler
# send tagged PATCH/POST/DELETE through all three while cycles of faults run: the etcd leader
# killed, two members killed at once, all killed with a proxy killed -9 and restarted meanwhile,
# a proxy frozen (SIGSTOP) across a compaction. Then a checker reads etcd's revision history and
# reports every acknowledged write lost, refused write applied, id given twice and delete
# resurrected; also convergence and how soon writes work after etcd's return.
#
# Bounded: cycles start until MINUTES have passed (one cycle is about 40 s plus HOLD x 6), then
# the last cycle ends, the fleet settles (at most 30 s) and the checker runs. Everything it starts
# it stops: etcd and the proxies by their Process. Exit status 1 on any violation.
#
# usage: bench/fleet-chaos.sh [-m MINUTES] [-h HOLD_MS]     (defaults 20, 3000)
#        bench/fleet-chaos.sh --ci                          (one cycle, as FleetChaosIT in mvn verify)
# output: the report on stdout and in target/fleet-chaos-report.txt, proxy logs in target/fleet-chaos/
set -euo pipefail

MINUTES=20 HOLD=3000
while [ $# -gt 0 ]; do
  case "$1" in
    -m) MINUTES=$2; shift ;;
    -h) HOLD=$2; shift ;;
    --ci) MINUTES=0 ;;
    *) echo "usage: bench/fleet-chaos.sh [-m MINUTES] [-h HOLD_MS] | --ci" >&2; exit 2 ;;
  esac
  shift
done
command -v etcd >/dev/null || { echo "bench: needs etcd (Debian: etcd-server)" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
mvn -B -q -DskipTests package   # the executable jar the proxies run, and the test classes
test_classpath
exec java -Xmx512m -Dupstream-proxy.jar=target/upstream-proxy.jar -cp "$CP" \
  io.upstreamproxy.fleet.FleetChaos "$((MINUTES * 60))" "$HOLD"
