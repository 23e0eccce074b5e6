# Shared by the bench scripts (sourced, not run).

# free_port: sets PORT to a free TCP port on 127.0.0.1 above 20000, never one handed out before
# in this run, and never the 8080/9001-9003 that demos use.
TAKEN=" "
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    case "$TAKEN" in *" $p "*) continue ;; esac
    if [ -z "$(ss -Htan "( sport = :$p )")" ]; then TAKEN="$TAKEN$p "; PORT=$p; return; fi
  done
}

# test_classpath: sets CP to the compiled classes, test classes and every test-scope dependency,
# for the benchmarks that run a main class of the test sources (compile them first).
test_classpath() {
  local f
  f=$(mktemp /tmp/upstream-proxy-cp.XXXXXX)
  mvn -B -q -o dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$f" >/dev/null
  CP="target/test-classes:target/classes:$(cat "$f")"
  rm -f "$f"
}
