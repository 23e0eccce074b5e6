package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The real proxy in front of real Jetty backends, all on 127.0.0.1 port 0. */
class ProxyEndToEndTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private Backend backend(String name) throws Exception {
        Backend b = Backend.start(name);
        open.add(b);
        return b;
    }

    private RunningProxy proxy(String json) throws Exception {
        RunningProxy p = RunningProxy.start(json.replace('\'', '"'));
        open.add(p);
        return p;
    }

    private static Map<String, Integer> distribution(RunningProxy p, int requests) throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < requests; i++) {
            HttpResponse<String> r = p.get("/");
            assertEquals(200, r.statusCode(), r.body());
            counts.merge(r.body(), 1, Integer::sum);
        }
        return counts;
    }

    private static Upstream upstream(RunningProxy p, String name) {
        return registry(p).get(name);
    }

    private static UpstreamRegistry registry(RunningProxy p) {
        return p.registry();
    }

    @Test
    void distributesByWeight() throws Exception {
        Backend a = backend("a");
        Backend b = backend("b");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + a.address() + "', 'weight': 3}, {'server': '" + b.address() + "'}]}}}");
        assertEquals(Map.of("a", 30, "b", 10), distribution(p, 40));
        Server sa = upstream(p, "web").server(0);
        assertEquals(30, sa.stats().requests());
        // The proxy counts a response once it finished writing it, just after the client read it.
        Http.await("30 2xx responses counted", Duration.ofSeconds(5), () -> sa.stats().responses(2) == 30);
        assertEquals(0, sa.stats().active());
    }

    @Test
    void backupTakesOverOnlyWhenPrimariesAreGone() throws Exception {
        Backend primary = backend("primary");
        Backend backup = backend("backup");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + primary.address() + "'}, {'server': '" + backup.address() + "', 'backup': true}]}}}");
        assertEquals(Map.of("primary", 10), distribution(p, 10));
        primary.close();
        assertEquals(Map.of("backup", 10), distribution(p, 10));
        assertEquals("unavail", upstream(p, "web").server(0).state());
    }

    @Test
    void failsOverWithZeroFailedGetsWhenABackendDies() throws Exception {
        Backend a = backend("a");
        Backend b = backend("b");
        Backend c = backend("c");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + a.address() + "', 'max_fails': 3}, {'server': '"
                + b.address() + "', 'max_fails': 3}, {'server': '" + c.address() + "', 'max_fails': 3}]}}}");
        distribution(p, 6);
        b.close();
        Map<String, Integer> after = distribution(p, 60);
        assertEquals(60, after.getOrDefault("a", 0) + after.getOrDefault("c", 0), after.toString());
        Server dead = upstream(p, "web").server(1);
        assertEquals(3, dead.stats().fails(), "three connect failures trip max_fails=3, then it is skipped");
        assertEquals("unavail", dead.state());
    }

    @Test
    void retriesSmallPostBodyOnConnectFailure() throws Exception {
        Backend live = backend("live");
        int dead = Backend.deadPort();
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '127.0.0.1:" + dead + "'}, {'server': '" + live.address() + "'}]}}}");
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = Http.send("POST", p.url("/orders"), "application/json", "{\"n\":" + i + "}");
            assertEquals(200, r.statusCode());
        }
        assertEquals(4, live.seen.size());
        assertEquals("{\"n\":0}", live.seen.get(0).body());
    }

    @Test
    void retriesGetWithContentTypeButNoBody() throws Exception {
        Backend live = backend("live");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '127.0.0.1:" + Backend.deadPort() + "'}, {'server': '" + live.address() + "'}]}}}");
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(p.url("/q"))).header("Content-Type", "application/json"));
            assertEquals(200, r.statusCode());
        }
    }

    @Test
    void doesNotRetryStreamedBodies() throws Exception {
        RunningProxy p = proxy("{'proxy': {'buffer_body': 16}, 'upstreams': {'web': {'servers': [{'server': '127.0.0.1:" + Backend.deadPort()
                + "'}, {'server': '127.0.0.1:" + Backend.deadPort() + "'}]}}}");
        assertEquals(502, Http.send("POST", p.url("/upload"), "text/plain", "more than sixteen bytes of body").statusCode());
        Upstream u = upstream(p, "web");
        assertEquals(1, u.server(0).stats().fails() + u.server(1).stats().fails(), "a streamed body is sent once, never replayed");
    }

    @Test
    void streamsLargeBodiesBothWaysIntact() throws Exception {
        Backend echo = backend("echo");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + echo.address() + "'}]}}}");
        String big = "x".repeat(3 << 20);
        HttpResponse<String> r = Http.send("PUT", p.url("/blob"), "application/octet-stream", big);
        assertEquals(200, r.statusCode());
        assertEquals(big.length(), echo.seen.get(0).body().length());
    }

    @Test
    void noEligibleServerIs503NamingTheUpstream() throws Exception {
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '127.0.0.1:1', 'down': true}]}}}");
        HttpResponse<String> r = p.get("/");
        assertEquals(503, r.statusCode());
        assertTrue(r.body().contains("\"code\":\"NoEligibleServer\""), r.body());
        assertTrue(r.body().contains("upstream \\\"web\\\""), r.body());
    }

    @Test
    void allConnectsFailingIs502() throws Exception {
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '127.0.0.1:" + Backend.deadPort() + "'}, {'server': '127.0.0.1:"
                + Backend.deadPort() + "'}]}}}");
        assertEquals(502, p.get("/").statusCode());
        Upstream u = upstream(p, "web");
        assertEquals(1, u.server(0).stats().fails());
        assertEquals(1, u.server(1).stats().fails(), "each server tried once");
    }

    @Test
    void slowServerIs504AfterReadTimeout() throws Exception {
        Backend slow = backend("slow");
        slow.holdRequests(1);
        RunningProxy p = proxy("{'proxy': {'read_timeout': '300ms'}, 'upstreams': {'web': {'retries': 0, 'servers': [{'server': '" + slow.address() + "'}]}}}");
        assertEquals(504, p.get("/").statusCode());
        assertEquals(1, upstream(p, "web").server(0).stats().fails());
    }

    @Test
    void unmatchedPathIs404AndLongestPrefixWins() throws Exception {
        Backend api = backend("api");
        Backend web = backend("web");
        RunningProxy p = proxy("{'upstreams': {'api': {'servers': [{'server': '" + api.address() + "'}]}, 'web': {'servers': [{'server': '"
                + web.address() + "'}]}}, 'routes': [{'path': '/app', 'upstream': 'web'}, {'path': '/app/v1/', 'upstream': 'api'}]}");
        assertEquals("api", p.get("/app/v1/users?id=3").body());
        assertEquals("/app/v1/users?id=3", api.seen.get(0).pathQuery());
        assertEquals("web", p.get("/app/v2").body());
        HttpResponse<String> miss = p.get("/other");
        assertEquals(404, miss.statusCode());
        assertTrue(miss.body().contains("RouteNotFound"), miss.body());
    }

    @Test
    void backendSeesForwardedHeaders() throws Exception {
        Backend b = backend("b");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + b.address() + "'}]}}}");
        Http.send(HttpRequest.newBuilder(URI.create(p.url("/h"))).header("X-Forwarded-For", "203.0.113.7"));
        Map<String, String> h = b.seen.get(0).headers();
        assertEquals("203.0.113.7, 127.0.0.1", h.get("x-forwarded-for"));
        assertEquals("http", h.get("x-forwarded-proto"));
        assertEquals("127.0.0.1:" + p.port(), h.get("x-forwarded-host"));
    }

    @Test
    void keepsTheQuotesOfAForwardedElementItAppendsTo() throws Exception {
        Backend b = backend("b");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + b.address() + "'}]}}}");
        HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(p.url("/h")))
                .header("Forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https")
                .header("Via", "1.1 \"corp cache\""));
        assertEquals(200, r.statusCode(), r.body());
        Map<String, String> h = b.seen.get(0).headers();
        // RFC 7239: an IPv6 address or a port must stay quoted, or the element no longer parses
        assertTrue(h.get("forwarded").startsWith("for=\"[2001:db8:cafe::17]:4711\";proto=https, "), h.get("forwarded"));
        assertTrue(h.get("forwarded").endsWith(";proto=http"), h.get("forwarded"));
        assertTrue(h.get("via").startsWith("1.1 \"corp cache\", "), h.get("via"));
    }

    @Test
    void dropsHopByHopHeaders() throws Exception {
        Backend b = backend("b");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + b.address() + "'}]}}}");
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), p.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: 5\r\n"
                    + "Proxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String response = readAll(s.getInputStream());
            assertTrue(response.startsWith("HTTP/1.1 200"), response);
        }
        Map<String, String> h = b.seen.get(0).headers();
        assertEquals("yes", h.get("x-kept"));
        assertFalse(h.containsKey("x-hop"), h.toString());
        assertFalse(h.containsKey("keep-alive"), h.toString());
        assertFalse(h.containsKey("proxy-connection"), h.toString());
    }

    @Test
    void maxConnsSendsTheOverflowElsewhere() throws Exception {
        Backend a = backend("a");
        Backend b = backend("b");
        a.holdRequests(1);
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + a.address() + "', 'max_conns': 1, 'weight': 100}, {'server': '"
                + b.address() + "'}]}}}");
        CompletableFuture<String> held = CompletableFuture.supplyAsync(() -> get(p, "/slow"));
        assertTrue(a.arrived.await(10, TimeUnit.SECONDS));
        assertEquals(Map.of("b", 5), distribution(p, 5), "a is at max_conns=1, so b gets everything despite weight 100");
        a.release();
        assertEquals("a", held.get(10, TimeUnit.SECONDS));
    }

    private static String get(RunningProxy p, String path) {
        try {
            return p.get(path).body();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    private static String readAll(InputStream in) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        in.transferTo(buf);
        return buf.toString(StandardCharsets.US_ASCII);
    }
}
