package io.upstreamproxy.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.runtime.Reloader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/** Fleet mode against a real etcd: two or three proxies in this JVM share operator intent. */
class FleetIT {
    static final Duration WITHIN = Duration.ofSeconds(1);
    static EtcdCluster etcd;

    @TempDir
    Path dir;
    String prefix;
    Backend x;
    Backend y;
    final List<RunningProxy> proxies = new ArrayList<>();

    @BeforeAll
    static void startEtcd() throws Exception {
        etcd = EtcdCluster.start(1);
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
    }

    @BeforeEach
    void backends(TestInfo test) throws Exception {
        prefix = "/it/" + test.getTestMethod().orElseThrow().getName() + "/";
        x = Backend.start("x");
        y = Backend.start("y");
    }

    @AfterEach
    void stop() throws Exception {
        for (RunningProxy p : proxies) {
            p.close();
        }
        x.close();
        y.close();
    }

    static String config(String instance, Path stateFile, String endpoints, String prefix, String... servers) {
        StringBuilder list = new StringBuilder();
        for (String s : servers) {
            list.append(list.length() == 0 ? "" : ", ").append("{\"server\": \"").append(s).append("\"}");
        }
        return "{\"upstreams\": {\"backend\": {\"servers\": [" + list + "]}},"
                + " \"state\": {\"file\": \"" + stateFile + "\"},"
                + " \"fleet\": {\"instance\": \"" + instance + "\", \"etcd\": {\"endpoints\": " + endpoints
                + ", \"prefix\": \"" + prefix + "\"}}}";
    }

    RunningProxy proxy(String instance, String... servers) throws Exception {
        RunningProxy p = RunningProxy.start(config(instance, dir.resolve(instance + ".state.json"), etcd.endpointsJson(), prefix,
                servers.length == 0 ? new String[] {x.address(), y.address()} : servers));
        proxies.add(p);
        return joined(p);
    }

    /** Start-up waits 3 s for etcd; a loaded machine may need a retry more. */
    static RunningProxy joined(RunningProxy p) throws InterruptedException {
        Http.await("instance in sync with etcd", Duration.ofSeconds(15), () -> node(p).connected());
        return p;
    }

    static FleetNode node(RunningProxy p) {
        return p.runtime().fleet();
    }

    static HttpResponse<String> patch(RunningProxy p, int id, String body) throws Exception {
        return Http.send("PATCH", p.url("/api/upstreams/backend/servers/" + id), "application/json", body);
    }

    static HttpResponse<String> post(RunningProxy p, String server) throws Exception {
        return Http.send("POST", p.url("/api/upstreams/backend/servers"), "application/json", "{\"server\": \"" + server + "\"}");
    }

    /** The operator-visible intent of an instance: each server's id, address and run-time fields. */
    static Map<Integer, String> intent(RunningProxy p) throws Exception {
        HttpResponse<String> r = p.get("/api/upstreams/backend/servers");
        assertEquals(200, r.statusCode(), r.body());
        Map<Integer, String> out = new TreeMap<>();
        for (JsonElement e : JsonParser.parseString(r.body()).getAsJsonArray()) {
            JsonObject s = e.getAsJsonObject();
            out.put(s.get("id").getAsInt(), s.get("server").getAsString() + " weight=" + s.get("weight") + " drain="
                    + s.get("drain") + " down=" + s.get("down") + " max_fails=" + s.get("max_fails"));
        }
        return out;
    }

    /** {@code GET /api/fleet}'s "etcd": connected or unreachable. */
    static String fleetStatus(RunningProxy p) {
        try {
            return JsonParser.parseString(p.get("/api/fleet").body()).getAsJsonObject().get("etcd").getAsString();
        } catch (Exception e) {
            return e.toString();
        }
    }

    static boolean drained(RunningProxy p, int id) {
        return p.registry().get("backend").server(id).config().drain();
    }

    @Test
    void drainOnOneInstanceStopsTheOthersSendingWithinOneSecond() throws Exception {
        RunningProxy a = proxy("a");
        RunningProxy b = proxy("b");
        assertEquals(200, b.get("/").statusCode());

        long t0 = System.nanoTime();
        HttpResponse<String> r = patch(a, 0, "{\"drain\": true}");
        assertEquals(200, r.statusCode(), r.body());
        Http.await("b sees server 0 drained", WITHIN, () -> drained(b, 0));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms < WITHIN.toMillis(), "applied on b after " + ms + " ms");

        int before = x.hits.get();
        for (int i = 0; i < 20; i++) {
            assertEquals(200, b.get("/").statusCode());
        }
        assertEquals(before, x.hits.get(), "b sent requests to the server drained through a");
        assertEquals(intent(a), intent(b));
    }

    @Test
    void serverAddedOnOneInstanceIsRoutedByTheOthers() throws Exception {
        RunningProxy a = proxy("a", x.address());
        RunningProxy b = proxy("b", x.address());
        HttpResponse<String> r = post(b, y.address());
        assertEquals(201, r.statusCode(), r.body());
        int id = JsonParser.parseString(r.body()).getAsJsonObject().get("id").getAsInt();
        Http.await("a has the server b added", WITHIN, () -> a.registry().get("backend").server(id) != null);
        patch(a, 0, "{\"drain\": true}");
        Http.await("b sees the drain", WITHIN, () -> drained(b, 0));
        int before = y.hits.get();
        for (int i = 0; i < 5; i++) {
            assertEquals(200, a.get("/").statusCode());
        }
        assertEquals(before + 5, y.hits.get(), "a routes to the server added through b");
    }

    @Test
    void concurrentWritesOnAllInstancesEndIdenticalWithDistinctIds() throws Exception {
        RunningProxy[] all = {proxy("a"), proxy("b"), proxy("c")};
        ExecutorService pool = Executors.newFixedThreadPool(6);
        Set<Integer> ids = java.util.concurrent.ConcurrentHashMap.newKeySet();
        AtomicInteger posted = new AtomicInteger();
        AtomicInteger weights = new AtomicInteger();
        List<Future<?>> work = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
            int thread = t;
            work.add(pool.submit(() -> {
                for (int i = 0; i < 15; i++) {
                    RunningProxy p = all[ThreadLocalRandom.current().nextInt(all.length)];
                    if (i % 3 == 0) {
                        HttpResponse<String> r = post(p, "127.0.0.1:" + (20000 + thread * 100 + i));
                        assertEquals(201, r.statusCode(), r.body());
                        assertTrue(ids.add(JsonParser.parseString(r.body()).getAsJsonObject().get("id").getAsInt()), "id given twice: " + r.body());
                        posted.incrementAndGet();
                    } else {
                        // both existing servers, from every instance at once: the same keys race
                        HttpResponse<String> r = patch(p, i % 2, "{\"weight\": " + (1 + ThreadLocalRandom.current().nextInt(100))
                                + ", \"max_fails\": " + thread + "}");
                        assertEquals(200, r.statusCode(), r.body());
                        weights.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : work) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertEquals(30, posted.get());
        // Any instance may still be applying the last watch events (instance 0 too), so wait until
        // all agree on one intent of 2 + 30 servers; below, that intent must be etcd's exactly.
        Http.await("every instance converged on the same 32 servers", Duration.ofSeconds(10), () -> {
            try {
                Map<Integer, String> first = intent(all[0]);
                if (first.size() != 32) {
                    return false;
                }
                for (RunningProxy p : all) {
                    if (!intent(p).equals(first)) {
                        return false;
                    }
                }
                return true;
            } catch (Exception e) {
                return false;
            }
        });
        try (Client c = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
            Map<String, String> stored = new TreeMap<>();
            for (KeyValue kv : c.getKVClient().get(ByteSequence.from(prefix + "upstreams/", StandardCharsets.UTF_8),
                    GetOption.builder().isPrefix(true).build()).get(5, TimeUnit.SECONDS).getKvs()) {
                stored.put(kv.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length()), kv.getValue().toString(StandardCharsets.UTF_8));
            }
            for (RunningProxy p : all) {
                assertEquals(stored, new TreeMap<>(EtcdKeys.flatten(changes(p).state())), "etcd and an instance's state differ");
            }
        }
    }

    static io.upstreamproxy.upstream.ChangeApplier changes(RunningProxy p) {
        return p.runtime().changes();
    }

    @Test
    void laterInstanceWithOtherConfigSharesIntentWhereAddressesMatch() throws Exception {
        String z = "127.0.0.1:" + Backend.deadPort();
        RunningProxy a = proxy("a", x.address(), y.address());
        RunningProxy b = proxy("b", x.address(), z);
        // b's config adds z to the fleet (id 2); a does not know z's settings and does not run it
        assertEquals(Set.of(0, 2), ids(b));
        assertEquals(Set.of(0, 1), ids(a));
        patch(b, 0, "{\"weight\": 7}");
        Http.await("a applies b's weight on the shared address", WITHIN,
                () -> a.registry().get("backend").server(0).config().weight() == 7);
    }

    @Test
    void reloadJoinsTheNewConfigWithoutDroppingWhatOtherInstancesConfigured() throws Exception {
        String z = "127.0.0.1:" + Backend.deadPort();
        String w = "127.0.0.1:" + Backend.deadPort();
        Path file = dir.resolve("a.json");
        Files.writeString(file, config("a", dir.resolve("a.state.json"), etcd.endpointsJson(), prefix, x.address(), y.address()));
        RunningProxy a = joined(RunningProxy.start(Files.readString(file), file));
        proxies.add(a);
        RunningProxy b = proxy("b", x.address(), z); // z: id 2, in b's config only
        Http.await("a has applied b's join", WITHIN, () -> changes(a).state().upstream("backend").server(2) != null);

        Files.writeString(file, config("a", dir.resolve("a.state.json"), etcd.endpointsJson(), prefix, x.address(), y.address(), w));
        Reloader.Outcome outcome = reloader(a).reload();

        assertTrue(outcome.applied(), outcome.message());
        Http.await("a's new server joins the fleet's intent with the next id", Duration.ofSeconds(5),
                () -> w.equals(addressInEtcd(a, 3)) && a.registry().get("backend").server(3) != null);
        assertEquals(z, addressInEtcd(a, 2), "a's reload left b's configured server in etcd");
        assertEquals(Set.of(0, 2), ids(b));
        assertEquals(200, patch(a, 1, "{\"weight\": 4}").statusCode(), "writes still go through after the reload");
        Http.await("b sees a's write", WITHIN, () -> "4".equals(String.valueOf(
                JsonParser.parseString(node(b).seen().get("upstreams/backend/servers/1")).getAsJsonObject()
                        .getAsJsonObject("set").get("weight"))));

        Files.writeString(file, config("a-renamed", dir.resolve("a.state.json"), etcd.endpointsJson(), prefix, x.address(), y.address(), w));
        outcome = reloader(a).reload();
        assertTrue(outcome.applied(), outcome.message());
        assertTrue(outcome.restartNeeded().stream().anyMatch(r -> r.startsWith("fleet (running: ")), outcome.restartNeeded().toString());
    }

    static Reloader reloader(RunningProxy p) {
        return p.runtime().reloader();
    }

    /** The address etcd (as the instance has seen it) holds for a server id, or null. */
    static String addressInEtcd(RunningProxy p, int id) {
        String v = node(p).seen().get("upstreams/backend/servers/" + id);
        return v == null ? null : JsonParser.parseString(v).getAsJsonObject().get("server").getAsString();
    }

    static Set<Integer> ids(RunningProxy p) {
        Set<Integer> out = new HashSet<>();
        p.registry().get("backend").servers().forEach(s -> out.add(s.id()));
        return out;
    }

    @Test
    void writeRefusedByAnotherInstancesChangeCatchesUpFromTheWatchWithoutAFullRead() throws Exception {
        RunningProxy a = proxy("a");
        RunningProxy b = proxy("b");
        long reads = node(b).fullReads();
        CountDownLatch busy = new CountDownLatch(1);
        node(b).queueOnSyncThread(() -> { // b has not applied a's change when its own write is sent
            try {
                busy.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            assertEquals(200, patch(a, 1, "{\"weight\": 5}").statusCode());
            Future<HttpResponse<String>> drain = pool.submit(() -> patch(b, 1, "{\"drain\": true}"));
            Http.await("b's write refused by a's, b catching up", Duration.ofSeconds(5), () -> node(b).catchUps() > 0);
            busy.countDown();
            HttpResponse<String> r = drain.get(10, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
        } finally {
            busy.countDown();
            pool.shutdownNow();
        }
        assertEquals(reads, node(b).fullReads(), "b read everything again instead of waiting for the watch");
        assertEquals(y.address() + " weight=5 drain=true down=false max_fails=1", intent(b).get(1));
        Http.await("a applies b's drain", WITHIN, () -> drained(a, 1));
        assertEquals(intent(a), intent(b));
    }

    @Test
    void compactedWatchIsFollowedByAFullRead() throws Exception {
        RunningProxy a = proxy("a");
        RunningProxy b = proxy("b");
        node(b).pauseWatch();
        assertEquals(200, patch(a, 1, "{\"weight\": 9}").statusCode());
        assertEquals(201, post(a, "127.0.0.1:1").statusCode());
        assertEquals(200, patch(a, 1, "{\"weight\": 11}").statusCode());
        assertFalse(b.registry().get("backend").server(1).config().weight() == 11);
        try (Client c = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
            long rev = c.getKVClient().get(ByteSequence.from(prefix, StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS).getHeader().getRevision();
            c.getKVClient().compact(rev).get(5, TimeUnit.SECONDS);
        }
        node(b).resumeWatch();
        Http.await("b caught up after the compaction", Duration.ofSeconds(3), () -> {
            try {
                return intent(b).equals(intent(a));
            } catch (Exception e) {
                return false;
            }
        });
    }

    @Test
    void listsLiveInstancesWithTheirRevision() throws Exception {
        RunningProxy a = proxy("a");
        proxy("b");
        patch(a, 0, "{\"weight\": 3}");
        Http.await("both instances listed with the same revision", Duration.ofSeconds(4), () -> {
            try {
                JsonObject f = JsonParser.parseString(a.get("/api/fleet").body()).getAsJsonObject();
                JsonArray list = f.getAsJsonArray("instances");
                return list.size() == 2 && list.get(0).getAsJsonObject().get("revision").getAsLong() == f.get("revision").getAsLong()
                        && list.get(1).getAsJsonObject().get("revision").getAsLong() == f.get("revision").getAsLong();
            } catch (Exception e) {
                return false;
            }
        });
        JsonObject settings = JsonParser.parseString(a.get("/status/settings.json").body()).getAsJsonObject();
        assertEquals("../api/fleet", settings.get("fleet").getAsString(), "the status page's fleet section asks there");
        assertEquals(200, a.get("/status/fleet.js").statusCode());

        RunningProxy b = proxies.remove(1);
        b.close(); // revokes its lease: gone at once, not after the 10 s TTL
        Http.await("a lists only itself", Duration.ofSeconds(3), () -> {
            try {
                return JsonParser.parseString(a.get("/api/fleet").body()).getAsJsonObject().getAsJsonArray("instances").size() == 1;
            } catch (Exception e) {
                return false;
            }
        });
    }

    static String read(Path p) throws Exception {
        return Files.readString(p);
    }
}
