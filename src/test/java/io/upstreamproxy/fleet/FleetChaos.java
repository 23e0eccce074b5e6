package io.upstreamproxy.fleet;

import com.google.gson.JsonParser;
import io.etcd.jetcd.Client;
import io.upstreamproxy.fleet.ChaosChecker.Op;
import io.upstreamproxy.fleet.ChaosChecker.Write;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fleet on an operator's bad day: a 3-member etcd on loopback, three proxies (each the jar in
 * its own process), writers sending tagged PATCH/POST/DELETE through all three, while a cycle of
 * faults runs: the etcd leader killed, two members killed at once (quorum lost), all three
 * killed with a proxy killed -9 and restarted during the outage, a proxy frozen (SIGSTOP) across
 * a compaction. Repeats the cycle until the time is up, then lets the fleet settle and has
 * {@link ChaosChecker} judge every answer against etcd's history.
 *
 * <p>Also measured: convergence (a probe PATCHes server 1 through one instance every 0.25 s and
 * times until the two others run it), and how long after etcd's return (every member healthy
 * again) each instance first answers a write 200.
 */
final class FleetChaos {
    private static final String PREFIX = "/chaos/";
    private static final int WRITERS = 6;

    private final Path dir;
    private final Duration length;
    private final Duration hold;
    private final AtomicInteger tags = new AtomicInteger(1);
    private final List<Write> writes = new CopyOnWriteArrayList<>();
    private final List<Long> convergence = new CopyOnWriteArrayList<>(); // ms
    private final List<Long> quietConvergence = new CopyOnWriteArrayList<>(); // ms, written 3 s or more after a fault event
    private volatile long lastFault = System.nanoTime();
    private final List<Long> usable = new CopyOnWriteArrayList<>(); // ms after etcd's return
    private final List<Long> firstAck = new CopyOnWriteArrayList<>(); // ms after etcd's return: any writer's first 200 per instance
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final Set<String> away = ConcurrentHashMap.newKeySet(); // proxies killed or frozen: not written to
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final long start = System.nanoTime();
    private EtcdCluster etcd;
    private final List<ProxyProcess> proxies = new ArrayList<>();

    /** What a run found: the checker's violations and the figures. */
    record Report(int writes, Map<ChaosChecker.Outcome, Long> outcomes, List<String> violations, List<Long> convergenceMs,
            List<Long> quietMs,
            List<Long> usableMs, List<Long> firstAckMs, List<String> log) {
        String summary() {
            return String.format(Locale.ROOT, "%d writes %s; violations %d; convergence p50 %d ms, p99 %d ms, max %d ms over %d probes"
                    + " (%d over 1 s); 3 s or more after any fault event: p50 %d ms, p99 %d ms, max %d ms over %d probes;"
                    + " writes usable after etcd's return (the probe's own write): p50 %d ms, max %d ms, %d of %d within 1 s %s;"
                    + " any writer's first 200 per instance after etcd's return: p50 %d ms, max %d ms, %d of %d within 1 s %s",
                    writes, outcomes, violations.size(), pct(convergenceMs, 50), pct(convergenceMs, 99), pct(convergenceMs, 100),
                    convergenceMs.size(), convergenceMs.stream().filter(v -> v > 1000).count(), pct(quietMs, 50), pct(quietMs, 99),
                    pct(quietMs, 100), quietMs.size(), pct(usableMs, 50), pct(usableMs, 100), within1s(usableMs), usableMs.size(),
                    usableMs, pct(firstAckMs, 50), pct(firstAckMs, 100), within1s(firstAckMs), firstAckMs.size(), firstAckMs);
        }

        private static long within1s(List<Long> values) {
            return values.stream().filter(v -> v >= 0 && v <= 1000).count();
        }

        /** Writes {@link #text} to target/fleet-chaos-report.txt. */
        void keep() throws java.io.IOException {
            java.nio.file.Files.createDirectories(Path.of("target"));
            java.nio.file.Files.writeString(Path.of("target", "fleet-chaos-report.txt"), text());
        }

        /** The summary, the faults as they ran, and every violation: what a run prints and keeps. */
        String text() {
            StringBuilder b = new StringBuilder(summary()).append('\n');
            log.forEach(line -> b.append(line).append('\n'));
            violations.forEach(v -> b.append("VIOLATION ").append(v).append('\n'));
            return b.toString();
        }

        private static long pct(List<Long> values, int p) {
            if (values.isEmpty()) {
                return -1;
            }
            List<Long> s = new ArrayList<>(values);
            Collections.sort(s);
            return s.get(Math.min(s.size() - 1, (int) Math.ceil(p / 100.0 * s.size()) - 1));
        }
    }

    /**
     * bench/fleet-chaos.sh: {@code SECONDS HOLD_MS}; cycles of faults until SECONDS have passed
     * (at least one), prints the report, keeps it in target/fleet-chaos-report.txt and the
     * proxies' logs in target/fleet-chaos/; exit status 1 on any violation.
     */
    public static void main(String[] args) throws Exception {
        Path dir = java.nio.file.Files.createTempDirectory("upstream-proxy-chaos");
        Report r = new FleetChaos(dir, Duration.ofSeconds(Long.parseLong(args[0])), Duration.ofMillis(Long.parseLong(args[1]))).run();
        r.keep();
        System.out.print(r.text());
        System.exit(r.violations().isEmpty() ? 0 : 1);
    }

    FleetChaos(Path dir, Duration length, Duration hold) {
        this.dir = dir;
        this.length = length;
        this.hold = hold;
    }

    Report run() throws Exception {
        try (EtcdCluster cluster = EtcdCluster.start(3); Backend x = Backend.start("x"); Backend y = Backend.start("y");
             Backend z = Backend.start("z")) {
            etcd = cluster;
            String[] servers = {x.address(), y.address(), z.address()};
            for (String name : List.of("a", "b", "c")) {
                proxies.add(new ProxyProcess(name, dir, FleetIT.config(name, dir.resolve(name + ".state.json"), etcd.endpointsJson(),
                        PREFIX, servers)));
            }
            for (ProxyProcess p : proxies) {
                p.start();
            }
            try (EtcdHistory history = EtcdHistory.record(etcd.endpoints(), PREFIX)) {
                awaitConverged(Duration.ofSeconds(30));
                ExecutorService pool = Executors.newFixedThreadPool(WRITERS + 2);
                List<Future<?>> tasks = new ArrayList<>();
                for (int i = 0; i < WRITERS; i++) {
                    tasks.add(pool.submit(this::writer));
                }
                tasks.add(pool.submit(() -> cycler(z.address())));
                tasks.add(pool.submit(this::probe));
                try {
                    long end = System.nanoTime() + length.toNanos();
                    do {
                        faults(history);
                    } while (System.nanoTime() < end);
                } finally {
                    running.set(false);
                    for (Future<?> f : tasks) {
                        f.get(60, TimeUnit.SECONDS);
                    }
                    pool.shutdown();
                }
                awaitConverged(Duration.ofSeconds(30));
                List<String> violations = new ArrayList<>(ChaosChecker.check(writes, history.events()));
                Map<ChaosChecker.Outcome, Long> outcomes = new java.util.TreeMap<>();
                writes.forEach(w -> outcomes.merge(w.outcome(), 1L, Long::sum));
                return new Report(writes.size(), outcomes, violations, List.copyOf(convergence), List.copyOf(quietConvergence), List.copyOf(usable),
                        List.copyOf(firstAck), List.copyOf(log));
            } finally {
                for (ProxyProcess p : proxies) {
                    p.close();
                    p.keepLog(Path.of("target", "fleet-chaos"));
                }
            }
        }
    }

    /** One cycle of every fault, each held for {@code hold}, with calm between. */
    private void faults(EtcdHistory history) throws Exception {
        calm();
        EtcdCluster.Member leader = etcd.leader();
        note("kill the etcd leader " + leader.name);
        leader.kill();
        pause(hold);
        returned();

        calm();
        leader = etcd.leader();
        EtcdCluster.Member other = leader == etcd.member(0) ? etcd.member(1) : etcd.member(0);
        note("kill two etcd members at once: " + leader.name + ", " + other.name + " (quorum lost)");
        leader.kill();
        other.kill();
        pause(hold);
        returned();

        calm();
        ProxyProcess b = proxies.get(1);
        note("kill every etcd member, kill -9 proxy b and start it again while etcd is down");
        etcd.killAll();
        away.add(b.name);
        b.kill();
        b.start();
        away.remove(b.name);
        pause(hold);
        returned();

        calm();
        ProxyProcess c = proxies.get(2);
        note("freeze proxy c (SIGSTOP), compact etcd, thaw it");
        away.add(c.name);
        c.signal("STOP");
        try {
            pause(hold);
            long revision = history.lastRevision();
            try (Client client = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
                client.getKVClient().compact(revision).get(10, TimeUnit.SECONDS);
            }
            note("compacted at revision " + revision);
        } finally {
            c.signal("CONT");
            away.remove(c.name);
        }
    }

    private void calm() throws Exception {
        pause(hold); // writes flow on; the instances are compared once the writers stop
    }

    /** Starts the stopped members, then times each instance's first 200 to a write sent after etcd's return. */
    private void returned() throws Exception {
        etcd.restart();
        long back = System.nanoTime();
        note("etcd back");
        ExecutorService pool = Executors.newFixedThreadPool(proxies.size());
        List<Future<Long>> firsts = new ArrayList<>();
        for (ProxyProcess p : proxies) {
            firsts.add(pool.submit(() -> {
                long deadline = back + TimeUnit.SECONDS.toNanos(30);
                while (System.nanoTime() < deadline) {
                    // server 0, the writers' own: server 1 is the convergence probe's alone (see probe())
                    Write w = send(p, Op.PATCH, 0, null);
                    if (w.outcome() == ChaosChecker.Outcome.ACK) {
                        return TimeUnit.NANOSECONDS.toMillis(w.answeredNanos() - back);
                    }
                    Thread.sleep(20); // between attempts: a refused write is answered at once
                }
                return -1L;
            }));
        }
        for (Future<Long> f : firsts) {
            usable.add(f.get(60, TimeUnit.SECONDS));
        }
        pool.shutdown();
        for (ProxyProcess p : proxies) {
            // the probe's write above queues behind the writers' on the instance; this is the first of any
            writes.stream().filter(w -> w.instance().equals(p.name) && w.sentNanos() >= back && w.outcome() == ChaosChecker.Outcome.ACK)
                    .mapToLong(w -> TimeUnit.NANOSECONDS.toMillis(w.answeredNanos() - back)).min().ifPresent(firstAck::add);
        }
        note("writes usable on every instance after " + usable.subList(usable.size() - proxies.size(), usable.size()) + " ms");
    }

    /** Random PATCH (server 0, or one this writer added), POST of a new address, DELETE of one it added. */
    private Void writer() throws Exception {
        List<Integer> mine = new ArrayList<>();
        ThreadLocalRandom r = ThreadLocalRandom.current();
        while (running.get()) {
            ProxyProcess p = pick();
            if (p == null) {
                continue;
            }
            if (!writes.isEmpty() && writes.get(writes.size() - 1).outcome() == ChaosChecker.Outcome.REFUSED) {
                Thread.sleep(20); // during an outage refusals come at once: do not spin
            }
            int dice = r.nextInt(100);
            if (dice < 55) {
                send(p, Op.PATCH, mine.isEmpty() || r.nextBoolean() ? 0 : mine.get(r.nextInt(mine.size())), null);
            } else if (dice < 80 || mine.isEmpty()) {
                Write w = send(p, Op.POST, -1, "127.0.0.1:" + (10000 + tags.get() % 50000));
                if (w.outcome() == ChaosChecker.Outcome.ACK) {
                    mine.add(w.id());
                }
            } else {
                int id = mine.get(r.nextInt(mine.size()));
                Write w = send(p, Op.DELETE, id, null);
                if (w.outcome() != ChaosChecker.Outcome.REFUSED || w.status() == 404) {
                    mine.remove(Integer.valueOf(id)); // deleted, or perhaps: never asked again
                }
            }
        }
        return null;
    }

    /** The path that once resurrected deletes: DELETE the configured address, POST it again, DELETE that, POST ... */
    private Void cycler(String address) throws Exception {
        while (running.get()) {
            ProxyProcess p = pick();
            if (p == null) {
                continue;
            }
            Integer id = idOf(p, address);
            if (id != null) {
                send(p, Op.DELETE, id, null);
            } else {
                send(p, Op.POST, -1, address);
            }
            Thread.sleep(50); // a human pace for this one path
        }
        return null;
    }

    /**
     * Every 0.25 s: a PATCH of server 1 through one instance, timed until both others run it (a
     * tag at least the probe's). Only this probe, one write at a time, writes server 1: when the
     * return's writes also went to it, an older tag committed after the probe's hid it, and
     * instances that had converged were timed until the next probe's (seen: 1.1 s for 0.5 s).
     */
    private Void probe() throws Exception {
        while (running.get()) {
            Thread.sleep(250); // the probe's pace
            ProxyProcess p = pick();
            if (p == null) {
                continue;
            }
            Write w = send(p, Op.PATCH, 1, null);
            if (w.outcome() != ChaosChecker.Outcome.ACK) {
                continue;
            }
            long deadline = w.answeredNanos() + TimeUnit.SECONDS.toNanos(10);
            for (ProxyProcess o : proxies) {
                while (o != p && !away.contains(o.name) && running.get() && System.nanoTime() < deadline) {
                    Integer seen = maxConns(o, 1);
                    if (seen != null && seen >= w.tag()) {
                        break;
                    }
                    Thread.sleep(5); // polling interval
                }
            }
            if (System.nanoTime() < deadline && away.isEmpty()) {
                // from the writer's 200: the promise is that the others apply what etcd committed within 1 s
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - w.answeredNanos());
                convergence.add(ms);
                if (w.sentNanos() - lastFault > TimeUnit.SECONDS.toNanos(3)) {
                    quietConvergence.add(ms);
                }
                if (ms > 1000) {
                    note("probe through " + p.name + " (tag " + w.tag() + "): the others ran it after " + ms + " ms");
                }
            }
        }
        return null;
    }

    private ProxyProcess pick() throws InterruptedException {
        List<ProxyProcess> here = proxies.stream().filter(p -> !away.contains(p.name)).toList();
        if (here.isEmpty()) {
            Thread.sleep(10); // all away for a moment
            return null;
        }
        return here.get(ThreadLocalRandom.current().nextInt(here.size()));
    }

    /** Sends one tagged write and records it. */
    private Write send(ProxyProcess p, Op op, int id, String address) {
        int tag = tags.getAndIncrement();
        long sent = System.nanoTime();
        int status = -1;
        int resultId = id;
        try {
            String base = p.url("/api/upstreams/backend/servers");
            HttpResponse<String> r = switch (op) {
                case PATCH -> Http.send("PATCH", base + "/" + id + "?force=true", "application/json", "{\"max_conns\": " + tag + "}");
                case POST -> Http.send("POST", base, "application/json", "{\"server\": \"" + address + "\", \"max_conns\": " + tag + "}");
                case DELETE -> Http.send("DELETE", base + "/" + id + "?force=true", null, null);
            };
            status = r.statusCode();
            if (op == Op.POST && status == 201) {
                resultId = JsonParser.parseString(r.body()).getAsJsonObject().get("id").getAsInt();
            }
        } catch (Exception e) {
            // no answer (a proxy killed mid-request): the outcome is unknown to this client
        }
        Write w = new Write(op, tag, p.name, resultId, address, status, sent, System.nanoTime());
        writes.add(w);
        return w;
    }

    private static Integer idOf(ProxyProcess p, String address) {
        try {
            for (var e : JsonParser.parseString(Http.get(p.url("/api/upstreams/backend/servers")).body()).getAsJsonArray()) {
                if (e.getAsJsonObject().get("server").getAsString().equals(address)) {
                    return e.getAsJsonObject().get("id").getAsInt();
                }
            }
        } catch (Exception e) {
            // no answer: try again later
        }
        return null;
    }

    private static Integer maxConns(ProxyProcess p, int id) {
        try {
            HttpResponse<String> r = Http.get(p.url("/api/upstreams/backend/servers/" + id));
            return r.statusCode() == 200 ? JsonParser.parseString(r.body()).getAsJsonObject().get("max_conns").getAsInt() : null;
        } catch (Exception e) {
            return null;
        }
    }

    /** Every proxy lists the same servers with the same fields. */
    private void awaitConverged(Duration within) throws InterruptedException {
        Http.await("the three instances agree", within, () -> {
            String first = null;
            for (ProxyProcess p : proxies) {
                String s = servers(p);
                if (s == null || (first != null && !first.equals(s))) {
                    return false;
                }
                first = s;
            }
            return true;
        });
    }

    private static String servers(ProxyProcess p) {
        try {
            HttpResponse<String> r = Http.get(p.url("/api/upstreams/backend/servers"));
            if (r.statusCode() != 200) {
                return null;
            }
            StringBuilder b = new StringBuilder();
            for (var e : JsonParser.parseString(r.body()).getAsJsonArray()) {
                var o = e.getAsJsonObject();
                b.append(o.get("id")).append(' ').append(o.get("server")).append(' ').append(o.get("max_conns")).append(';');
            }
            return b.toString();
        } catch (Exception e) {
            return null;
        }
    }

    private void pause(Duration d) throws InterruptedException {
        Thread.sleep(d.toMillis()); // a fault's length, not a wait for a state change
    }

    /** A fault event (anything but a probe's report) starts the 3 s after which convergence counts as quiet. */
    private void note(String what) {
        if (!what.startsWith("probe")) {
            lastFault = System.nanoTime();
        }
        // with the wall-clock time, to find the moment in the proxies' logs
        log.add(String.format(Locale.ROOT, "%7.1f s %s %s", (System.nanoTime() - start) / 1e9, java.time.LocalTime.now(java.time.ZoneOffset.UTC), what));
    }
}
