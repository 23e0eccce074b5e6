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

# stop_started: kills the processes whose pids are in PIDS (the script's own, started in the
# background) and waits for them; for a script's EXIT trap.
stop_started() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# hello_backend PORT: an nginx with one worker on 127.0.0.1:PORT answering 200 "hello" to every
# request, its files in $TMP, started in the background with its pid added to PIDS.
hello_backend() {
  cat >"$TMP/backend.conf" <<CONF
worker_processes 1;
pid $TMP/backend.pid;
error_log $TMP/backend.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $TMP/backend-body;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$1; location / { default_type text/plain; return 200 "hello\n"; } }
}
CONF
  nginx -p "$TMP" -e "$TMP/backend.err" -c "$TMP/backend.conf" -g 'daemon off;' >"$TMP/backend.out" 2>&1 &
  PIDS+=($!)
}
