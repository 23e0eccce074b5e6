-- wrk reporter: one machine-readable line at the end of a run, read by bench/run.sh.
-- Only done() is defined, so wrk keeps its fast path (no per-response Lua call).
-- errors.status counts responses with status >= 400 (wrk's "Non-2xx or 3xx" counter).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d status=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
