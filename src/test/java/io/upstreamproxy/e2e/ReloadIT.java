package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.upstream.Server;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** POST /api/reload against the real proxy while traffic flows (SPEC §10). */
class ReloadIT {
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    Backend a;
    Backend b;
    Backend c;
    Path file;
    RunningProxy proxy;

    @BeforeEach
    void start() throws Exception {
        a = Backend.start("a");
        b = Backend.start("b");
        c = Backend.start("c");
        file = dir.resolve("proxy.json");
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        a.close();
        b.close();
        c.close();
    }

    /** A config with listen 127.0.0.1:0, a state file, and the given upstreams and routes (JSON members). */
    private void write(String upstreams, String routes) throws Exception {
        Files.writeString(file, """
                {"listen": {"host": "127.0.0.1", "port": 0},
                 // comments stay allowed
                 "upstreams": {%s},
                 "routes": [%s],
                 "state": {"file": "state.json"}}
                """.formatted(upstreams, routes));
    }

    private void startProxy() throws Exception {
        proxy = RunningProxy.start(Files.readString(file), file);
    }

    private HttpResponse<String> reload() throws Exception {
        return Http.send("POST", proxy.url("/api/reload"), null, null);
    }

    private static String servers(Backend... backends) {
        List<String> out = new ArrayList<>();
        for (Backend x : backends) {
            out.add("{\"server\": \"" + x.address() + "\"}");
        }
        return "\"servers\": [" + String.join(", ", out) + "]";
    }

    @Test
    void reloadAddsAndRemovesUpstreamsAndRoutesUnderLoadWithoutAFailedRequest() throws Exception {
        write("\"one\": {" + servers(a) + "}", "{\"path\": \"/\", \"upstream\": \"one\"}");
        startProxy();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        Map<String, Integer> failures = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<?>> loops = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            loops.add(pool.submit(() -> {
                while (running.get()) {
                    HttpResponse<String> r = Http.get(proxy.url("/x"));
                    if (r.statusCode() == 200) {
                        ok.incrementAndGet();
                    } else {
                        failures.merge(r.statusCode() + " " + r.body(), 1, Integer::sum);
                    }
                }
                return null;
            }));
        }
        try {
            Http.await("traffic", DEADLINE, () -> ok.get() > 50);
            // 1: a second upstream and a route to it
            write("\"one\": {" + servers(a) + "}, \"two\": {" + servers(b) + "}",
                    "{\"path\": \"/\", \"upstream\": \"one\"}, {\"path\": \"/two\", \"upstream\": \"two\"}");
            assertEquals(200, reload().statusCode());
            assertEquals("b", proxy.get("/two/x").body());
            // 2: "/" moves to "two" and "one" is gone
            write("\"two\": {" + servers(b, c) + "}", "{\"path\": \"/\", \"upstream\": \"two\"}");
            int before = ok.get();
            assertEquals(200, reload().statusCode());
            Http.await("traffic after the reload", DEADLINE, () -> ok.get() > before + 50);
            assertFalse(proxy.registry().all().containsKey("one"));
            Http.await("'/' served by two's servers", DEADLINE, () -> c.hits.get() > 5);
            // 3: back to one
            write("\"one\": {" + servers(a) + "}", "{\"path\": \"/\", \"upstream\": \"one\"}");
            assertEquals(200, reload().statusCode());
            int after = a.hits.get();
            Http.await("'/' served by one again", DEADLINE, () -> a.hits.get() > after + 20);
        } finally {
            running.set(false);
            for (Future<?> f : loops) {
                f.get(30, TimeUnit.SECONDS);
            }
            pool.shutdown();
        }
        assertEquals(Map.of(), failures, "no request failed across three reloads (" + ok.get() + " succeeded)");
    }

    @Test
    void reloadAppliesRouteConditionsUnderLoadWithoutAFailedRequestAndABadRegexChangesNothing() throws Exception {
        write("\"one\": {" + servers(a) + "}, \"two\": {" + servers(b) + "}", "{\"path\": \"/\", \"upstream\": \"one\"}");
        startProxy();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        Map<String, Integer> failures = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<?>> loops = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            loops.add(pool.submit(() -> {
                while (running.get()) {
                    HttpResponse<String> r = Http.get(proxy.url("/x/1"));
                    if (r.statusCode() == 200) {
                        ok.incrementAndGet();
                    } else {
                        failures.merge(r.statusCode() + " " + r.body(), 1, Integer::sum);
                    }
                }
                return null;
            }));
        }
        try {
            Http.await("traffic", DEADLINE, () -> ok.get() > 50);
            write("\"one\": {" + servers(a) + "}, \"two\": {" + servers(b) + "}",
                    "{\"path\": \"=/healthz\", \"return\": {\"status\": 200, \"body\": \"fine\"}},"
                    + " {\"path\": \"~^/x/[0-9]+$\", \"methods\": [\"GET\"], \"upstream\": \"two\"}, {\"path\": \"/\", \"upstream\": \"one\"}");
            assertEquals(200, reload().statusCode());
            assertEquals("fine", proxy.get("/healthz").body());
            int before = b.hits.get();
            Http.await("/x/1 served by two after the reload", DEADLINE, () -> b.hits.get() > before + 20);
            Files.writeString(file, Files.readString(file).replace("~^/x/[0-9]+$", "~^/x/([0-9]+$"));
            HttpResponse<String> bad = reload();
            assertEquals(400, bad.statusCode(), bad.body());
            assertTrue(bad.body().contains("routes[1].path: \\\"~^/x/([0-9]+$\\\": invalid regex"), bad.body());
            int after = b.hits.get();
            Http.await("two still serves /x/1", DEADLINE, () -> b.hits.get() > after + 20);
            assertEquals("fine", proxy.get("/healthz").body());
        } finally {
            running.set(false);
            for (Future<?> f : loops) {
                f.get(30, TimeUnit.SECONDS);
            }
            pool.shutdown();
        }
        assertEquals(Map.of(), failures, "no request failed across the reloads (" + ok.get() + " succeeded)");
    }

    @Test
    void requestInFlightAcrossAReloadThatRemovesItsUpstreamCompletes() throws Exception {
        write("\"one\": {" + servers(a) + "}", "{\"path\": \"/\", \"upstream\": \"one\"}");
        startProxy();
        a.holdRequests(1);
        CompletableFuture<HttpResponse<String>> inFlight = Http.sendAsync(HttpRequest.newBuilder(URI.create(proxy.url("/slow"))));
        assertTrue(a.arrived.await(20, TimeUnit.SECONDS));

        write("\"two\": {" + servers(b) + "}", "{\"path\": \"/\", \"upstream\": \"two\"}");
        assertEquals(200, reload().statusCode());
        assertEquals("b", proxy.get("/x").body(), "new requests follow the new config");
        a.release();
        HttpResponse<String> r = inFlight.get(20, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertEquals("a", r.body(), "the request in flight finished on its server");
    }

    @Test
    void brokenConfigChangesNothingAndAnswers400WithTheOneLineError() throws Exception {
        write("\"one\": {" + servers(a) + "}", "{\"path\": \"/\", \"upstream\": \"one\"}");
        startProxy();
        Files.writeString(file, Files.readString(file).replace("\"upstreams\": {", "\"upstreams\": {\"one\": {}, "));
        HttpResponse<String> r = reload();
        assertEquals(400, r.statusCode());
        JsonObject error = JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error");
        assertEquals("InvalidConfig", error.get("code").getAsString());
        assertEquals(file + ": upstreams.one: duplicate key at line 3 column 27 (expected: each key once)", error.get("text").getAsString());
        assertEquals("a", proxy.get("/x").body(), "the old config keeps serving");
        assertEquals(List.of("one"), List.copyOf(proxy.registry().all().keySet()));
    }

    @Test
    void drainWeightCountersAndHealthOfServersThatStayAreKept() throws Exception {
        write("\"one\": {\"servers\": [{\"server\": \"" + a.address() + "\", \"weight\": 2}, {\"server\": \"" + b.address() + "\"}]}",
                "{\"path\": \"/\", \"upstream\": \"one\"}");
        startProxy();
        ApiClient api = new ApiClient(proxy);
        api.patchOk("one", 0, "{\"weight\": 5}");
        api.patchOk("one", 1, "{\"drain\": true}");
        for (int i = 0; i < 4; i++) {
            assertEquals("a", proxy.get("/x").body());
        }
        Server kept = proxy.registry().get("one").server(0);
        long requests = kept.stats().requests();

        // the config now says weight 3 for a and adds c: a keeps its run-time weight 5, b stays drained
        write("\"one\": {\"servers\": [{\"server\": \"" + a.address() + "\", \"weight\": 3}, {\"server\": \"" + b.address() + "\"},"
                + " {\"server\": \"" + c.address() + "\"}]}", "{\"path\": \"/\", \"upstream\": \"one\"}");
        assertEquals(200, reload().statusCode());
        assertSame(kept, proxy.registry().get("one").server(0), "the same server object: counters and verdicts kept");
        assertEquals(requests, kept.stats().requests());
        assertEquals(5, api.server("one", 0).get("weight").getAsInt());
        assertTrue(api.server("one", 1).get("drain").getAsBoolean());
        assertEquals(2, api.server("one", 2).get("id").getAsInt());
        assertEquals(Map.of("a", 5, "c", 1), api.spread(6));

        // reset: the config's weight applies, and that is saved like any change
        HttpResponse<String> mixed = api.patch("one", 0, "{\"reset\": true, \"weight\": 4}");
        assertEquals(400, mixed.statusCode(), mixed.body());
        assertEquals(3, api.patchOk("one", 0, "{\"reset\": true}").get("weight").getAsInt());
        assertFalse(Files.readString(dir.resolve("state.json")).contains("\"weight\": 5"));
        assertEquals(200, reload().statusCode());
        assertEquals(3, api.server("one", 0).get("weight").getAsInt(), "after reset the config's value also wins on reload");
    }

    @Test
    void healthVerdictsSurviveAReloadThatChangesTheCheck() throws Exception {
        b.healthStatus = 503;
        String check = "\"health_check\": {\"uri\": \"/health\", \"interval\": \"%s\", \"fails\": 3, \"passes\": 3}";
        write("\"one\": {" + servers(a, b) + ", " + check.formatted("100ms") + "}", "{\"path\": \"/\", \"upstream\": \"one\"}");
        startProxy();
        ApiClient api = new ApiClient(proxy);
        Http.await("b unhealthy", DEADLINE, () -> {
            try {
                return api.server("one", 1).get("state").getAsString().equals("unhealthy");
            } catch (Exception e) {
                return false;
            }
        });
        // a new interval restarts the checks; b's verdict stays (a fresh one would say "up" for three failed checks)
        write("\"one\": {" + servers(a, b) + ", " + check.formatted("2s") + "}", "{\"path\": \"/\", \"upstream\": \"one\"}");
        assertEquals(200, reload().statusCode());
        assertEquals("unhealthy", api.server("one", 1).get("state").getAsString());
        assertEquals(Map.of("a", 4), api.spread(4));
    }

    @Test
    void listenerChangeIsReportedAsNeedingARestartAndTheRestIsApplied() throws Exception {
        write("\"one\": {" + servers(a) + "}", "{\"path\": \"/\", \"upstream\": \"one\"}");
        startProxy();
        Files.writeString(file, Files.readString(file).replace("\"port\": 0", "\"port\": 1").replace(a.address(), b.address()));
        HttpResponse<String> r = reload();
        assertEquals(200, r.statusCode(), r.body());
        JsonObject o = JsonParser.parseString(r.body()).getAsJsonObject();
        assertEquals("listen (running: 127.0.0.1:0)", o.getAsJsonArray("restart_needed").get(0).getAsString());
        assertEquals("b", proxy.get("/x").body());
    }

    @Test
    void reloadIsRefusedWhenTheApiIsReadOnlyAndAllowsOnlyPost() throws Exception {
        Files.writeString(file, """
                {"listen": {"host": "127.0.0.1", "port": 0}, "upstreams": {"one": {%s}}, "api": {"read_only": true}}
                """.formatted(servers(a)));
        startProxy();
        assertEquals(405, reload().statusCode());
        Files.writeString(file, Files.readString(file).replace("\"read_only\": true", "\"read_only\": false"));
        // read_only is itself reloadable, but only by a signal while it is on; the GET is refused either way
        HttpResponse<String> get = Http.get(proxy.url("/api/reload"));
        assertEquals(405, get.statusCode());
    }
}
