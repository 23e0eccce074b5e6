package io.upstreamproxy.fleet;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.upstream.Upstream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fleet benchmark (bench/fleet.sh runs it; not a test): a real etcd, three proxies in this JVM.
 *
 * <ol>
 *   <li>Convergence: {@code changes} PATCHes one after another through instance a; for each, the
 *       time from a's 200 (etcd committed) until b and c both run the new weight, and the whole
 *       time from sending the PATCH. p50/p99/max.
 *   <li>Write throughput: {@code threads} clients PATCH for {@code seconds}, spread over the three
 *       instances, first each on a server of its own (no conflicts), then all on one server
 *       (every write races the others: conflicts, catch-up, retry).
 * </ol>
 *
 * Usage: {@code FleetBench [changes=1000] [threads=6] [seconds=5]}.
 */
public final class FleetBench {
    private FleetBench() {}

    public static void main(String[] args) throws Exception {
        int changes = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Path dir = Files.createTempDirectory("fleet-bench");
        try (EtcdCluster etcd = EtcdCluster.start(1); Backend x = Backend.start("x")) {
            List<String> servers = new ArrayList<>();
            servers.add(x.address());
            for (int i = 0; i < threads; i++) {
                servers.add("127.0.0.1:" + (40000 + i));
            }
            String[] list = servers.toArray(String[]::new);
            List<RunningProxy> proxies = new ArrayList<>();
            try {
                for (String name : List.of("a", "b", "c")) {
                    proxies.add(FleetIT.joined(RunningProxy.start(
                            FleetIT.config(name, dir.resolve(name + ".json"), etcd.endpointsJson(), "/bench/", list))));
                }
                convergence(proxies, changes);
                throughput(proxies, threads, seconds, false);
                throughput(proxies, threads, seconds, true);
            } finally {
                for (RunningProxy p : proxies) {
                    p.close();
                }
            }
        }
    }

    private static void convergence(List<RunningProxy> proxies, int changes) throws Exception {
        RunningProxy a = proxies.get(0);
        Upstream b = proxies.get(1).registry().get("backend");
        Upstream c = proxies.get(2).registry().get("backend");
        long[] afterCommit = new long[changes];
        long[] total = new long[changes];
        for (int i = 0; i < changes; i++) {
            int weight = 1 + i % 999;
            long t0 = System.nanoTime();
            HttpResponse<String> r = FleetIT.patch(a, 1, "{\"weight\": " + weight + "}");
            long committed = System.nanoTime();
            if (r.statusCode() != 200) {
                throw new IllegalStateException("PATCH " + i + ": " + r.statusCode() + " " + r.body());
            }
            long deadline = committed + TimeUnit.SECONDS.toNanos(5);
            while (b.server(1).config().weight() != weight || c.server(1).config().weight() != weight) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("change " + i + " not applied on b and c within 5 s");
                }
                Thread.onSpinWait();
            }
            long done = System.nanoTime();
            afterCommit[i] = done - committed;
            total[i] = done - t0;
        }
        System.out.printf("convergence over %d changes (a -> b and c): after commit p50 %.2f ms, p99 %.2f ms, max %.2f ms;"
                + " from the PATCH sent p50 %.2f ms, p99 %.2f ms%n", changes,
                ms(pct(afterCommit, 50)), ms(pct(afterCommit, 99)), ms(pct(afterCommit, 100)), ms(pct(total, 50)), ms(pct(total, 99)));
    }

    private static void throughput(List<RunningProxy> proxies, int threads, int seconds, boolean contended) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong ok = new AtomicLong();
        AtomicLong refused = new AtomicLong();
        List<Future<?>> work = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            work.add(pool.submit(() -> {
                RunningProxy p = proxies.get(thread % proxies.size());
                int id = contended ? 1 : 1 + thread;
                for (int i = 0; !stop.get(); i++) {
                    HttpResponse<String> r = FleetIT.patch(p, id, "{\"weight\": " + (1 + i % 999) + "}");
                    (r.statusCode() == 200 ? ok : refused).incrementAndGet();
                }
                return null;
            }));
        }
        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds)); // the measuring window, not a wait for a state change
        stop.set(true);
        for (Future<?> f : work) {
            f.get(30, TimeUnit.SECONDS);
        }
        double elapsed = (System.nanoTime() - t0) / 1e9;
        pool.shutdown();
        System.out.printf("write throughput, %d clients over 3 instances, %s: %.0f writes/s acknowledged (%d in %.1f s), %d refused%n",
                threads, contended ? "all on one server (conflicting)" : "one server each", ok.get() / elapsed, ok.get(), elapsed, refused.get());
        Http.await("instances converge", java.time.Duration.ofSeconds(5), () -> {
            try {
                return FleetIT.intent(proxies.get(0)).equals(FleetIT.intent(proxies.get(1)))
                        && FleetIT.intent(proxies.get(0)).equals(FleetIT.intent(proxies.get(2)));
            } catch (Exception e) {
                return false;
            }
        });
    }

    private static long pct(long[] values, int p) {
        long[] s = values.clone();
        Arrays.sort(s);
        int i = (int) Math.ceil(p / 100.0 * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, i))];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
