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
