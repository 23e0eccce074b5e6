package io.upstreamproxy.e2e;

import io.upstreamproxy.testing.Prerequisite;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The management API against the real proxy and real backends: changes take effect on the next request. */
class ManagementApiIT {
    static final Duration DEADLINE = Duration.ofSeconds(10);

    Backend a;
    Backend b;
    RunningProxy proxy;
    ApiClient api;

    @BeforeEach
    void start() throws Exception {
        a = Backend.start("a");
        b = Backend.start("b");
        proxy = RunningProxy.start("{\"upstreams\": {\"backend\": {\"servers\": ["
                + "{\"server\": \"" + a.address() + "\"}, {\"server\": \"" + b.address() + "\"}]}}}");
        api = new ApiClient(proxy);
    }

    @AfterEach
    void stop() throws Exception {
        proxy.close();
        a.close();
        b.close();
    }

    @Test
    void drainLetsTheSlowRequestFinishSendsNoNewOnesAndActiveFallsToZero() throws Exception {
        a.holdRequests(1);
        HttpClient client = HttpClient.newHttpClient();
        CompletableFuture<HttpResponse<String>> slow = null;
        for (int i = 0; i < 4 && a.arrived.getCount() > 0; i++) {
            CompletableFuture<HttpResponse<String>> f = client.sendAsync(
                    HttpRequest.newBuilder(URI.create(proxy.url("/slow"))).build(), HttpResponse.BodyHandlers.ofString());
            Http.await("the request reached a or came back from b", DEADLINE, () -> f.isDone() || a.arrived.getCount() == 0);
            if (!f.isDone()) {
                slow = f;
            }
        }
        assertTrue(slow != null && a.arrived.getCount() == 0, "one request is held by a");

        JsonObject drained = api.patchOk("backend", 0, "{\"drain\":true}");
        assertEquals("draining", drained.get("state").getAsString());
        assertEquals(1, drained.get("active").getAsInt(), "the slow request is still in flight");
        int aHits = a.hits.get();
        assertEquals(Map.of("b", 10), api.spread(10), "no new request reaches a drained server");
        assertEquals(aHits, a.hits.get());

        a.release();
        HttpResponse<String> r = slow.get(10, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertEquals("a", r.body(), "the in-flight request completed on the drained server");
        Http.await("active falls to 0", DEADLINE, () -> {
            try {
                return api.server("backend", 0).get("active").getAsInt() == 0;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });

        JsonObject back = api.patchOk("backend", 0, "{\"drain\":false}");
        assertEquals("up", back.get("state").getAsString());
        assertEquals(Map.of("a", 2, "b", 2), api.spread(4), "undrained: a gets its share at once");
    }

    @Test
    void weightChangeShowsInTheNextRequests() throws Exception {
        assertEquals(Map.of("a", 10, "b", 10), api.spread(20));
        assertEquals(3, api.patchOk("backend", 0, "{\"weight\":3}").get("weight").getAsInt());
        Map<String, Integer> spread = api.spread(40);
        assertTrue(Math.abs(spread.get("a") - 30) <= 1, spread.toString());
    }

    @Test
    void addedServerGetsTrafficDeletedOneNoneAndIdsAreNotReused() throws Exception {
        try (Backend c = Backend.start("c")) {
            HttpResponse<String> added = api.post("backend", "{\"server\": \"" + c.address() + "\"}");
            assertEquals(201, added.statusCode(), added.body());
            assertEquals("/api/upstreams/backend/servers/2", added.headers().firstValue("Location").orElseThrow());
            assertEquals(2, JsonParser.parseString(Http.get(api.base + added.headers().firstValue("Location").get()).body())
                    .getAsJsonObject().get("id").getAsInt());
            assertEquals(Map.of("a", 3, "b", 3, "c", 3), api.spread(9));

            HttpResponse<String> deleted = api.delete("backend", 2);
            assertEquals(200, deleted.statusCode());
            assertEquals("{\"status\":\"success\"}", JsonParser.parseString(deleted.body()).toString());
            int cHits = c.hits.get();
            assertNull(api.spread(9).get("c"));
            assertEquals(cHits, c.hits.get(), "a deleted server gets no request");

            HttpResponse<String> again = api.post("backend", "{\"server\": \"" + c.address() + "\"}");
            assertEquals(3, JsonParser.parseString(again.body()).getAsJsonObject().get("id").getAsInt(), "id 2 is never given again");
        }
    }

    @Test
    void drainingTheLastPrimaryNeedsForce() throws Exception {
        api.patchOk("backend", 0, "{\"drain\":true}");
        HttpResponse<String> refused = api.patch("backend", 1, "{\"drain\":true}");
        assertEquals(409, refused.statusCode());
        assertTrue(refused.body().contains("LastAvailableServer"));
        assertEquals(Map.of("b", 2), api.spread(2));
        HttpResponse<String> forced = Http.send("PATCH", api.base + "/api/upstreams/backend/servers/1?force=true", null, "{\"down\":true}");
        assertEquals(200, forced.statusCode());
        assertEquals(503, Http.get(proxy.url("/x")).statusCode(), "no eligible server left");
    }

    @Test
    void errorsComeAsJsonWithStatusCodeAndAllow() throws Exception {
        HttpResponse<String> r = Http.send("PUT", api.base + "/api/upstreams/backend/servers/0", "application/json", "{}");
        assertEquals(405, r.statusCode());
        assertEquals("GET, HEAD, PATCH, DELETE, OPTIONS", r.headers().firstValue("Allow").orElseThrow());
        assertEquals(415, Http.send("PATCH", api.base + "/api/upstreams/backend/servers/0", "text/xml", "{\"drain\":true}").statusCode());
        assertEquals(400, api.patch("backend", 0, "").statusCode());
        HttpResponse<String> unknown = Http.get(api.base + "/api/upstreams/nope");
        assertEquals(404, unknown.statusCode());
        assertEquals("{\"error\":{\"status\":404,\"code\":\"UpstreamNotFound\",\"text\":\"upstream \\\"nope\\\" not found\"}}",
                unknown.body().trim());
        assertFalse(api.server("backend", 0).get("drain").getAsBoolean());
    }

    /** The seed module's curl lines, run as written, when curl is installed. */
    @Test
    void seedCurlLinesWorkVerbatim() throws Exception {
        Prerequisite.require(new File("/usr/bin/curl").canExecute(), "curl (/usr/bin/curl)", "apt-get install curl (.ci/run does)");
        String list = curl("curl", api.base + "/api/upstreams");
        assertTrue(JsonParser.parseString(list).getAsJsonObject().getAsJsonObject("backend").has("servers"));
        String drained = curl("curl", "-X", "PATCH", "-d", "{\"drain\":true}", api.base + "/api/upstreams/backend/servers/0");
        assertEquals("success", JsonParser.parseString(drained).getAsJsonObject().get("status").getAsString());
        assertTrue(api.server("backend", 0).get("drain").getAsBoolean());
        curl("curl", "-X", "PATCH", "-d", "{\"drain\":false}", api.base + "/api/upstreams/backend/servers/0");
        assertFalse(api.server("backend", 0).get("drain").getAsBoolean());
    }

    static String curl(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        return out;
    }
}
