package io.upstreamproxy.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.WsBackend;
import io.upstreamproxy.testing.WsClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What every front end must do alike, request by request: the jar (embedded Jetty), the WAR in
 * Tomcat 10.1 and the WAR in a standalone Jetty 12 each run this same suite against the same
 * config and the same {@link ConformanceBackend}. A difference a container forces is overridden
 * in its subclass with the reason, and listed in docs/war.md; there is no other.
 *
 * <p>Every answer is read with a deadline well inside the client's own socket timeout, so a
 * front end that never answers fails the test instead of hanging it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class FrontEndConformance {
    /** The proxy's read timeout in this config: the 504 comes after it, and well before the server's answer. */
    static final Duration READ_TIMEOUT = Duration.ofSeconds(2);

    /** A started front end serving {@code config}: where it listens and the path its proxy is under. */
    interface FrontEnd extends AutoCloseable {
        int port();

        /** The context path ({@code ""} for the jar). */
        String prefix();

        /** Fails the test when the front end logged trouble (a container's log of our webapp). */
        default void assertNoProblems() {}
    }

    ConformanceBackend app;
    Backend unavailable; // answers 503 to everything
    WsBackend webSocket;
    Backend sticky0;
    Backend sticky1;
    Backend failing;
    Path dir;
    Path accessLog;
    FrontEnd frontEnd;

    /** Starts the front end under test with the config file {@code config} ({@code dir} is its own to write in). */
    abstract FrontEnd start(Path dir, Path config) throws Exception;

    @BeforeAll
    void startFrontEnd() throws Exception {
        app = ConformanceBackend.start();
        unavailable = Backend.start("unavailable");
        unavailable.status = 503;
        webSocket = WsBackend.start("ws");
        sticky0 = Backend.start("s0");
        sticky1 = Backend.start("s1");
        failing = Backend.start("failing");
        failing.status = 503;
        dir = Files.createTempDirectory("upstream-proxy-" + getClass().getSimpleName() + "-");
        accessLog = dir.resolve("access.log");
        Path config = dir.resolve("conformance.json");
        Files.writeString(config, """
                {
                  "upstreams": {
                    "app":  { "servers": [ { "server": "%s" } ] },
                    "dead": { "servers": [ { "server": "127.0.0.1:%d", "max_fails": 1, "fail_timeout": "60s" } ] },
                    "slow": { "servers": [ { "server": "%s", "max_fails": 0 } ] },
                    "retry": { "balancer": "unweighted-round-robin",
                               "servers": [ { "server": "127.0.0.1:%d", "max_fails": 1, "fail_timeout": "60s" }, { "server": "%s" } ] },
                    "ws":   { "servers": [ { "server": "%s" } ] },
                    "sticky": { "sticky": { "cookie": "srv_id" }, "servers": [ { "server": "%s" }, { "server": "%s" } ] },
                    "outliers": { "outlier_detection": { "consecutive_errors": 2, "max_ejection_percent": 50, "base_ejection_time": "1h" },
                                  "servers": [ { "server": "%s", "max_fails": 0 }, { "server": "%s" } ] },
                    "queued": { "queue": { "size": 5, "timeout": "300ms" }, "servers": [ { "server": "%s", "max_conns": 1 } ] },
                    "flaky": { "balancer": "unweighted-round-robin", "retry_on": ["connect", "503"],
                               "servers": [ { "server": "%s" }, { "server": "%s" } ] },
                    "wake": { "queue": { "size": 5, "timeout": "20s" },
                              "servers": [ { "server": "%s", "max_conns": 1, "max_fails": 0 }, { "server": "%s", "down": true } ] },
                    "wslimited": { "max_requests": 1, "servers": [ { "server": "%s" } ] }
                  },
                  "routes": [
                    { "path": "=/r/healthz", "return": { "status": 200, "body": "ok", "content_type": "text/plain" } },
                    { "path": "~^/r/img/[0-9]+\\\\.png$", "return": { "status": 200, "body": "img" } },
                    { "path": "/r/old/", "redirect": { "to": "https://$host$request_uri", "status": 301 } },
                    { "path": "/r/m/", "methods": ["POST"], "return": { "status": 201, "body": "posted" } },
                    { "path": "/r/c/", "headers": { "X-Canary": "~^(1|yes)$" }, "query": { "beta": true }, "return": { "status": 200, "body": "canary" } },
                    { "path": "/r/w/", "rewrite": { "regex": "^/r/w/(.*)$", "to": "/$1" }, "upstream": "app" },
                    { "path": "/r/s/", "split": [ { "upstream": "app", "weight": 1 }, { "upstream": "slow", "weight": 1 } ] },
                    { "host": "*.routed.example", "path": "/r/", "strip_prefix": true, "upstream": "app",
                      "request_headers": { "set": { "X-Route": "host-$host" }, "remove": ["X-Debug"] },
                      "response_headers": { "set": { "X-Routed": "yes" } } },
                    { "path": "/dead/", "upstream": "dead" },
                    { "path": "/slow/", "upstream": "slow" },
                    { "path": "/retry/", "upstream": "retry" },
                    { "path": "/ws/", "upstream": "ws" },
                    { "path": "/sticky/", "upstream": "sticky" },
                    { "path": "/outliers/", "upstream": "outliers" },
                    { "path": "/q/", "rewrite": { "regex": "^/q/(.*)$", "to": "/$1" }, "upstream": "queued" },
                    { "path": "/flaky/", "upstream": "flaky" },
                    { "path": "/wake/", "rewrite": { "regex": "^/wake/(.*)$", "to": "/$1" }, "upstream": "wake" },
                    { "path": "/wsl/", "rewrite": { "regex": "^/wsl/(.*)$", "to": "/ws/$1" }, "upstream": "wslimited" },
                    { "path": "/", "upstream": "app" }
                  ],
                  "proxy": { "read_timeout": "%ds", "connect_timeout": "2s" },
                  "api": { "allow": ["127.0.0.1", "::1"], "deny": ["all"] },
                  "access_log": { "file": "%s" }
                }
                """.formatted(app.address(), Backend.deadPort(), app.address(), Backend.deadPort(), app.address(), webSocket.address(),
                        sticky0.address(), sticky1.address(), failing.address(), app.address(),
                        app.address(), unavailable.address(), app.address(), app.address(), sticky0.address(), webSocket.address(),
                        READ_TIMEOUT.toSeconds(), accessLog));
        frontEnd = start(dir, config);
    }

    @AfterAll
    void stopFrontEnd() throws Exception {
        try {
            if (frontEnd != null) {
                frontEnd.close();
            }
        } finally {
            if (app != null) {
                app.close();
            }
            if (unavailable != null) {
                unavailable.close();
            }
            if (webSocket != null) {
                webSocket.close();
            }
            for (Backend b : new Backend[] {sticky0, sticky1, failing}) {
                if (b != null) {
                    b.close();
                }
            }
            DeployedWarContract.deleteRecursively(dir);
        }
    }

    String url(String path) {
        return "http://127.0.0.1:" + frontEnd.port() + frontEnd.prefix() + path;
    }

    /** One request on a fresh connection, its whole answer read within 10 s. */
    RawHttp.Reply exchange(String head) throws IOException {
        try (RawHttp c = RawHttp.connect(frontEnd.port())) {
            c.timeout(10_000);
            c.send(head);
            return c.read();
        }
    }

    String get(String path) {
        return "GET " + frontEnd.prefix() + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + frontEnd.port() + "\r\nConnection: close\r\n\r\n";
    }

    @Test
    void answers502WithItsJsonWhenTheOnlyServerRefusesThen503WithNoEligibleServer() throws Exception {
        RawHttp.Reply refused = exchange(get("/dead/x"));
        assertEquals(502, refused.status(), refused::toString);
        assertTrue(refused.headers().get("content-type").startsWith("application/json"), refused::toString);
        JsonObject error = JsonParser.parseString(refused.body()).getAsJsonObject().getAsJsonObject("error");
        assertEquals("BadGateway", error.get("code").getAsString(), refused::body);
        assertEquals("dead", error.get("upstream").getAsString(), refused::body);
        assertEquals(refused.headers().get("x-request-id"), error.get("request_id").getAsString(), refused::toString);

        RawHttp.Reply none = exchange(get("/dead/y"));
        assertEquals(503, none.status(), none::toString);
        assertEquals("NoEligibleServer", JsonParser.parseString(none.body()).getAsJsonObject().getAsJsonObject("error").get("code").getAsString());

        JsonObject server = server("dead");
        assertEquals(1, server.get("fails").getAsInt(), server::toString);
        assertEquals(0, server.get("active").getAsInt(), server::toString);
        frontEnd.assertNoProblems();
    }

    @Test
    void answers504WithItsJsonWhenTheServerIsSilentPastTheReadTimeout() throws Exception {
        long start = System.nanoTime();
        RawHttp.Reply r = exchange(get("/slow/x"));
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(504, r.status(), r::toString);
        assertEquals("GatewayTimeout", JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error").get("code").getAsString());
        assertTrue(tookMillis < ConformanceBackend.SLOW_MILLIS, "answered after the read timeout, before the server: " + tookMillis + " ms");
        frontEnd.assertNoProblems();
    }

    /** A request that finds the one server of "queued" busy (max_conns 1) waits its queue's 300 ms, then gets 503 QueueTimeout. */
    @Test
    void aQueuedRequestThatWaitsOutTheQueueTimeoutGets503QueueTimeout() throws Exception {
        try (RawHttp busy = RawHttp.connect(frontEnd.port())) {
            busy.timeout(10_000);
            int heldBefore = app.held.get();
            busy.send("GET " + frontEnd.prefix() + "/q/held/queue HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            Http.await("the first request at the server", Duration.ofSeconds(10), () -> app.held.get() > heldBefore);
            long start = System.nanoTime();
            RawHttp.Reply r = exchange(get("/q/waits"));
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(503, r.status(), r::toString);
            JsonObject error = JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error");
            assertEquals("QueueTimeout", error.get("code").getAsString(), r::body);
            assertTrue(tookMillis >= 250 && tookMillis < ConformanceBackend.HELD_MILLIS + 2_000, "answered at the queue's timeout: " + tookMillis + " ms");
            assertEquals(200, busy.read().status(), "the request that held the server is served");
        }
        JsonObject server = server("queued");
        assertEquals(0, server.get("fails").getAsInt(), server::toString);
        frontEnd.assertNoProblems();
    }

    /**
     * "wake": its first server is busy (max_conns 1) with a request that lasts READ_TIMEOUT, its
     * second is down. A request queues behind it; setting the second up through the API lets the
     * queued request in at once, before the busy one ends.
     */
    @Test
    void aQueuedRequestGoesToAServerSetUpThroughTheApiAtOnce() throws Exception {
        try (RawHttp busy = RawHttp.connect(frontEnd.port()); RawHttp queued = RawHttp.connect(frontEnd.port())) {
            busy.timeout(10_000);
            queued.timeout(10_000);
            busy.send(get("/wake/slow/busy"));
            Http.await("the busy request at its server", Duration.ofSeconds(10), () -> overload("wake").get("in_flight").getAsInt() == 1);
            queued.send(get("/wake/queued"));
            Http.await("the second request queued", Duration.ofSeconds(10),
                    () -> overload("wake").getAsJsonObject("queue").get("depth").getAsInt() == 1);
            CompletableFuture<Long> busyEnded = CompletableFuture.supplyAsync(() -> {
                try {
                    busy.read();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return System.nanoTime();
            });
            patch("/api/upstreams/wake/servers/1", "{\"down\": false}");
            RawHttp.Reply r = queued.read();
            long servedAt = System.nanoTime();
            assertEquals(200, r.status(), r::toString);
            assertEquals("s0", r.body(), r::toString);
            assertTrue(servedAt - busyEnded.get(10, TimeUnit.SECONDS) < 0, "served before the busy request ended");
        }
    }

    /** "wslimited" has max_requests 1: an open WebSocket holds that place until it closes; a request meanwhile gets 503 UpstreamOverloaded. */
    @Test
    void anOpenWebSocketHoldsItsPlaceInMaxRequests() throws Exception {
        try (WsClient ws = WsClient.connect("ws://127.0.0.1:" + frontEnd.port() + frontEnd.prefix() + "/wsl/echo")) {
            assertEquals("ws:hello", ws.ask("hello"));
            RawHttp.Reply r = exchange(get("/wsl/plain"));
            assertEquals(503, r.status(), r::toString);
            assertTrue(r.body().contains("UpstreamOverloaded"), r::body);
        }
        Http.await("the closed WebSocket gave its place back", Duration.ofSeconds(10), () -> overload("wslimited").get("in_flight").getAsInt() == 0);
    }

    /** The upstream's {@code overload} object from the API. */
    private JsonObject overload(String upstream) {
        try {
            return JsonParser.parseString(Http.get(url("/api/upstreams/" + upstream)).body()).getAsJsonObject().getAsJsonObject("overload");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** "flaky" has retry_on 503: a 503 from its first server is never seen, the other server answers. */
    @Test
    void a503IsRetriedOnAnotherServerWhenRetryOnHasIt() throws Exception {
        int before = unavailable.hits.get();
        for (int i = 0; i < 2; i++) {
            RawHttp.Reply r = exchange(get("/flaky/x" + i));
            assertEquals(200, r.status(), r::toString);
            assertEquals("app", r.body());
        }
        assertTrue(unavailable.hits.get() > before, "round robin gave the 503 server a request first, and it was retried");
        frontEnd.assertNoProblems();
    }

    @Test
    void retriesAnIdempotentRequestOnTheNextServerAndCountsTheFailureOnce() throws Exception {
        for (int i = 0; i < 2; i++) {
            RawHttp.Reply r = exchange(get("/retry/x" + i));
            assertEquals(200, r.status(), r::toString);
            assertEquals("app", r.body());
        }
        JsonObject dead = server("retry");
        assertEquals(1, dead.get("fails").getAsInt(), dead::toString);
        assertEquals(0, dead.get("active").getAsInt(), dead::toString);
        assertEquals("unavail", dead.get("state").getAsString(), dead::toString);
        Http.await("the retry in the access log", Duration.ofSeconds(10), () -> accessLogHas("\"GET /retry/x0\" 200 retry "));
    }

    @Test
    void sendsTheSameHeadersBothWays() throws Exception {
        RawHttp.Reply r = exchange("GET " + frontEnd.prefix() + "/headers HTTP/1.1\r\nHost: app.example\r\nConnection: close, X-Drop\r\n"
                + "X-Drop: 1\r\nX-Forwarded-For: 192.0.2.7\r\nVia: 1.0 corporate-cache\r\nTE: trailers\r\nProxy-Authorization: x\r\n\r\n");
        assertEquals(200, r.status(), r::toString);
        java.util.Map<String, String> seen = new java.util.HashMap<>();
        r.body().lines().forEach(l -> seen.merge(l.substring(0, l.indexOf(':')), l.substring(l.indexOf(':') + 2), (a, b) -> a + ", " + b));
        assertEquals("192.0.2.7, 127.0.0.1", seen.get("x-forwarded-for"), r::body);
        assertEquals("app.example", seen.get("x-forwarded-host"), r::body);
        assertEquals("http", seen.get("x-forwarded-proto"), r::body);
        assertEquals("1.0 corporate-cache, 1.1 upstream-proxy", seen.get("via"), r::body);
        assertEquals("trailers", seen.get("te"), r::body);
        assertFalse(seen.containsKey("x-drop"), "a header the client's Connection names is hop-by-hop: " + r.body());
        assertFalse(seen.containsKey("proxy-authorization"), r::body);
        assertTrue(seen.get("forwarded").startsWith("by="), r::body);
        assertEquals("1", r.headers().get("x-kept"), r::toString);
        assertFalse(r.headers().containsKey("x-hop"), "a header the server's Connection names is hop-by-hop: " + r);
        assertFalse("conformance-backend".equals(r.headers().get("server")), "the server's Server header is dropped: " + r);
    }

    RawHttp.Reply get(String path, String host) throws IOException {
        return exchange("GET " + frontEnd.prefix() + path + " HTTP/1.1\r\nHost: " + host + "\r\nX-Debug: 1\r\nConnection: close\r\n\r\n");
    }

    @Test
    void routesByHostStripsThePrefixAndSetsHeadersBothWays() throws Exception {
        RawHttp.Reply r = get("/r/headers", "A.Routed.Example:8080");
        assertEquals(200, r.status(), r::toString);
        assertEquals("yes", r.headers().get("x-routed"), r::toString);
        // the server got /headers (the prefix stripped), with the route's header set and X-Debug removed
        assertTrue(r.body().contains("x-route: host-a.routed.example\n"), r::body);
        assertFalse(r.body().contains("x-debug"), r::body);
        assertTrue(r.body().matches("(?s).*x-request-id: [0-9a-f]{32}\n.*"), r::body);
        RawHttp.Reply other = get("/r/headers", "other.example");
        assertEquals("app", other.body(), "another host takes the catch-all, unstripped: " + other);
        assertEquals(null, other.headers().get("x-routed"), other::toString);
    }

    @Test
    void answersByItselfForAnExactOrRegexPath() throws Exception {
        RawHttp.Reply ok = get("/r/healthz", "127.0.0.1");
        assertEquals(200, ok.status(), ok::toString);
        assertEquals("ok", ok.body());
        assertTrue(ok.headers().get("content-type").startsWith("text/plain"), ok::toString);
        assertEquals("app", get("/r/healthz/more", "127.0.0.1").body(), "= is exact: a longer path goes on");
        assertEquals("img", get("/r/img/42.png", "127.0.0.1").body());
        assertEquals("app", get("/r/img/x.png", "127.0.0.1").body());
    }

    @Test
    void matchesMethodsHeadersAndQuery() throws Exception {
        RawHttp.Reply post = exchange("POST " + frontEnd.prefix() + "/r/m/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        assertEquals(201, post.status(), post::toString);
        assertEquals("posted", post.body());
        assertEquals("app", get("/r/m/x", "127.0.0.1").body(), "GET is not among the route's methods");
        RawHttp.Reply canary = exchange("GET " + frontEnd.prefix() + "/r/c/x?beta HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Canary: yes\r\nConnection: close\r\n\r\n");
        assertEquals("canary", canary.body(), canary::toString);
        assertEquals("app", get("/r/c/x?beta", "127.0.0.1").body(), "no X-Canary header");
        RawHttp.Reply noQuery = exchange("GET " + frontEnd.prefix() + "/r/c/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Canary: 1\r\nConnection: close\r\n\r\n");
        assertEquals("app", noQuery.body(), "no beta parameter");
    }

    @Test
    void rewritesThePathAndSplitsBetweenUpstreams() throws Exception {
        RawHttp.Reply rewritten = get("/r/w/headers", "127.0.0.1");
        assertTrue(rewritten.body().contains("x-request-id: "), "the server got /headers, the path rewritten: " + rewritten);
        for (int i = 0; i < 20; i++) {
            assertEquals("app", get("/r/s/" + i, "127.0.0.1").body()); // both upstreams are the one server
        }
        // each request draws either side with chance 1/2: one side unseen in 20 has chance 2^-19
        Http.await("both sides of the split in the access log", Duration.ofSeconds(10),
                () -> accessLogMatches("\"GET /r/s/\\d+\" 200 app ") && accessLogMatches("\"GET /r/s/\\d+\" 200 slow "));
    }

    @Test
    void redirectsWithTheHostAndRequestUri() throws Exception {
        RawHttp.Reply r = get("/r/old/x?a=1", "Shop.Example:8080");
        assertEquals(301, r.status(), r::toString);
        // in the WAR, $request_uri keeps the context path: the URL the client asked for
        assertEquals("https://shop.example" + frontEnd.prefix() + "/r/old/x?a=1", r.headers().get("location"), r::toString);
    }

    @Test
    void passesTheServersTrailerFieldsToTheClient() throws Exception {
        // Kept alive: a response to "Connection: close" may end by closing, with no chunks to carry trailers.
        RawHttp.Reply r = exchange("GET " + frontEnd.prefix() + "/trailers HTTP/1.1\r\nHost: 127.0.0.1\r\nTE: trailers\r\n\r\n");
        assertEquals(200, r.status(), r::toString);
        assertEquals("first part, last part", r.body());
        assertEquals(ConformanceBackend.CHECKSUM, r.trailers().get("x-checksum"), r::toString);
    }

    @Test
    void passesTheClientsTrailerFieldsToTheServer() throws Exception {
        RawHttp.Reply r = exchange("POST " + frontEnd.prefix() + "/echo-trailers HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                + "Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\nContent-Type: text/plain\r\n\r\n"
                + "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: c0ffee\r\n\r\n");
        assertEquals(200, r.status(), r::toString);
        assertEquals("length=11 trailer=c0ffee", r.body());
    }

    @Test
    void routesAWebSocketUpgradeByItsNormalisedPath() throws Exception {
        int before = webSocket.upgrades.get();
        try (RawHttp c = RawHttp.connect(frontEnd.port())) {
            c.timeout(10_000);
            c.send("GET " + frontEnd.prefix() + "/other/../ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            RawHttp.Reply r = c.readHeadOnly();
            assertEquals(101, r.status(), r::toString);
            assertEquals("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", r.headers().get("sec-websocket-accept"), r::toString);
        }
        assertEquals(before + 1, webSocket.upgrades.get(), "upgrades the WebSocket server saw");
    }

    @Test
    void relaysWebSocketMessagesBothWaysAndFreesTheServerWhenTheClientCloses() throws Exception {
        try (WsClient ws = WsClient.connect("ws://127.0.0.1:" + frontEnd.port() + frontEnd.prefix() + "/ws/echo")) {
            assertEquals("ws:hello", ws.ask("hello"));
            assertEquals("ws:" + "x".repeat(50_000), ws.ask("x".repeat(50_000)), "a message larger than a relay buffer");
            assertEquals(1, server("ws").get("active").getAsInt(), "the open WebSocket counts as active");
        }
        Http.await("ws's active count back to 0", Duration.ofSeconds(10), () -> {
            try {
                return server("ws").get("active").getAsInt() == 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void streamsServerSentEventsAsTheServerSendsThem() throws Exception {
        try (RawHttp c = RawHttp.connect(frontEnd.port())) {
            c.timeout(10_000);
            c.send(get("/events"));
            RawHttp.Reply head = c.readHeadOnly();
            assertEquals(200, head.status(), head::toString);
            assertEquals("text/event-stream", head.headers().get("content-type"));
            String line;
            do {
                line = c.readLine(); // chunk sizes, then the event, while the server holds the rest
            } while (!line.startsWith("data:"));
            assertEquals("data: first", line, "the first event, before the server ended the stream");
            app.endEvents();
            do {
                line = c.readLine();
            } while (!line.startsWith("data:"));
            assertEquals("data: last", line);
        }
    }

    /** A response the server cut short reaches the client cut short: never with a last chunk that would make it look whole. */
    @Test
    void cutsTheClientsResponseWhenTheServerDiesMidBody() throws Exception {
        try (RawHttp c = RawHttp.connect(frontEnd.port())) {
            c.timeout(10_000);
            c.send("GET " + frontEnd.prefix() + "/cut HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            RawHttp.Reply head = c.readHeadOnly();
            assertEquals(200, head.status(), head::toString);
            StringBuilder got = new StringBuilder();
            try {
                for (int b; (b = c.input().read()) != -1; ) {
                    got.append((char) b);
                }
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("the connection stayed open after the server's cut, as if the response were whole: " + got);
            } catch (IOException e) {
                // reset: cut, as it should be
            }
            String rest = got.toString();
            assertTrue(rest.contains("the first part of a body"), rest);
            assertFalse(rest.endsWith("0\r\n\r\n"), () -> "a last chunk after a cut body: " + rest);
        }
    }

    /**
     * 1xx: a client that asks {@code Expect: 100-continue} is told to go on and its body
     * arrives whole; a server's interim answer (103 Early Hints) is not passed on (nginx's
     * default), and the final answer's framing holds on the kept-alive connection.
     */
    @Test
    void answersExpectContinueAndKeepsTheServersInterimAnswersToItself() throws Exception {
        try (RawHttp c = RawHttp.connect(frontEnd.port())) {
            c.timeout(10_000);
            c.send("POST " + frontEnd.prefix() + "/echo-trailers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            RawHttp.Reply interim = c.readHeadOnly();
            assertEquals(100, interim.status(), interim::toString);
            c.send("hello");
            RawHttp.Reply echoed = c.read();
            assertEquals(200, echoed.status(), echoed::toString);
            assertEquals("length=5 trailer=none", echoed.body());
            RawHttp.Reply hinted = c.send("GET " + frontEnd.prefix() + "/early-hints HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").read();
            assertEquals(200, hinted.status(), hinted::toString);
            assertEquals("final", hinted.body());
            RawHttp.Reply after = c.send("GET " + frontEnd.prefix() + "/after-hints HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").read();
            assertEquals("app", after.body(), "the next answer on the same connection");
        }
    }

    @Test
    void keepsTheFramingOf204And304OnAKeptAliveConnection() throws Exception {
        try (RawHttp c = RawHttp.connect(frontEnd.port())) {
            c.timeout(10_000);
            String host = "Host: 127.0.0.1\r\n";
            c.send("GET " + frontEnd.prefix() + "/no-content HTTP/1.1\r\n" + host + "\r\n");
            RawHttp.Reply noContent = c.read();
            assertEquals(204, noContent.status(), noContent::toString);
            assertFalse(noContent.headers().containsKey("transfer-encoding"), noContent::toString);
            c.send("GET " + frontEnd.prefix() + "/not-modified HTTP/1.1\r\n" + host + "If-None-Match: \"v1\"\r\n\r\n");
            RawHttp.Reply notModified = c.read();
            assertEquals(304, notModified.status(), notModified::toString);
            assertEquals("\"v1\"", notModified.headers().get("etag"));
            c.send("GET " + frontEnd.prefix() + "/after HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
            RawHttp.Reply after = c.read();
            assertEquals(200, after.status(), after::toString);
            assertEquals("app", after.body(), "the third answer on the connection, read where the first two ended");
        }
    }

    @Test
    void activeIsBackToZeroAfter60ClientsAbandonSlowRequests() throws Exception {
        int heldBefore = app.held.get();
        List<RawHttp> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 60; i++) {
                RawHttp c = RawHttp.connect(frontEnd.port());
                c.send("GET " + frontEnd.prefix() + "/held/" + i + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                clients.add(c);
            }
            Http.await("60 requests at the server", Duration.ofSeconds(10), () -> app.held.get() - heldBefore >= 60);
        } finally {
            for (RawHttp c : clients) {
                c.close();
            }
        }
        Http.await("app's active count back to 0", Duration.ofSeconds(15), () -> {
            try {
                return server("app").get("active").getAsInt() == 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals("app", Http.get(url("/after-abandon")).body(), "the server still serves");
    }

    @Test
    void writesOneAccessLogLinePerRequest() throws Exception {
        HttpResponse<String> r = Http.get(url("/logged?n=1"));
        assertEquals(200, r.statusCode(), r::body);
        Http.await("the access log line", Duration.ofSeconds(10), () -> accessLogHas("\"GET /logged?n=1\" 200 app "));
        RawHttp.Reply given = exchange("GET " + frontEnd.prefix() + "/logged?n=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: conformance-42\r\nConnection: close\r\n\r\n");
        assertEquals(200, given.status(), given::toString);
        Http.await("the request id in the access log", Duration.ofSeconds(10), () -> accessLogHas("request_id=conformance-42"));
    }

    @Test
    void exposesPrometheusMetricsOfProxiedRequests() throws Exception {
        assertEquals(200, Http.get(url("/metered")).statusCode());
        HttpResponse<String> r = Http.get(url("/metrics"));
        assertEquals(200, r.statusCode(), r::body);
        assertTrue(r.body().contains("# TYPE upstream_proxy_requests_total counter"), r::body);
        assertTrue(r.body().lines().anyMatch(l -> l.startsWith("upstream_proxy_requests_total{") && l.contains("upstream=\"app\"")), r::body);
    }

    @Test
    void keepsAStickyClientOnItsServerAndThereWhileItDrains() throws Exception {
        RawHttp.Reply first = exchange(get("/sticky/x"));
        assertEquals(200, first.status(), first::toString);
        String setCookie = first.headers().get("set-cookie");
        assertTrue(setCookie != null && setCookie.matches("srv_id=[0-9a-f]{16}; Path=/; HttpOnly"), first::toString);
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));
        String bound = first.body();
        for (int i = 0; i < 10; i++) {
            RawHttp.Reply r = exchange(withCookie("/sticky/x", cookie));
            assertEquals(bound, r.body(), r::toString);
            assertEquals(null, r.headers().get("set-cookie"), "set only when absent or changed");
        }
        String id = bound.equals("s0") ? "0" : "1";
        patch("/api/upstreams/sticky/servers/" + id, "{\"drain\": true}");
        try {
            for (int i = 0; i < 5; i++) {
                assertEquals(bound, exchange(withCookie("/sticky/x", cookie)).body(), "a drain keeps its bound clients");
                assertFalse(exchange(get("/sticky/y")).body().equals(bound), "and takes no new ones");
            }
        } finally {
            patch("/api/upstreams/sticky/servers/" + id, "{\"drain\": false}");
        }
    }

    String withCookie(String path, String cookie) {
        return "GET " + frontEnd.prefix() + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + cookie + "\r\nConnection: close\r\n\r\n";
    }

    private void patch(String path, String body) throws Exception {
        HttpResponse<String> r = Http.send("PATCH", url(path), "application/json", body);
        assertEquals(200, r.statusCode(), r::body);
    }

    @Test
    void ejectsAServerThatAnswers503AndTheApiSaysWhy() throws Exception {
        for (int i = 0; i < 4; i++) { // round-robin: the failing server answers two of them, 503 each
            exchange(get("/outliers/x"));
        }
        JsonObject failed = server("outliers");
        assertEquals("ejected", failed.get("state").getAsString(), failed::toString);
        assertEquals("2 consecutive 503", failed.get("ejected_reason").getAsString());
        assertTrue(failed.has("ejected_until"), failed::toString);
        for (int i = 0; i < 5; i++) {
            RawHttp.Reply r = exchange(get("/outliers/y"));
            assertEquals(200, r.status(), "the ejected server gets no more requests: " + r);
        }
        assertEquals(2, failing.hits.get());
    }

    private boolean accessLogMatches(String regex) {
        try {
            return Files.exists(accessLog) && java.util.regex.Pattern.compile(regex).matcher(Files.readString(accessLog)).find();
        } catch (IOException e) {
            return false;
        }
    }

    private boolean accessLogHas(String text) {
        try {
            return Files.exists(accessLog) && Files.readString(accessLog).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    /** The API's object for the first server of {@code upstream}. */
    JsonObject server(String upstream) throws Exception {
        HttpResponse<String> r = Http.get(url("/api/upstreams/" + upstream + "/servers/0"));
        assertEquals(200, r.statusCode(), r::body);
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }
}
