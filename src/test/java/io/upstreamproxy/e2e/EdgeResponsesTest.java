package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.testing.RawBackend;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the proxy says itself and what it passes through: one JSON error shape for every status
 * it makes (Jetty's own refusals included), 502/504 naming the servers tried, no software
 * version or host name in Server, Via or bodies, 304/204 untouched, paths normalised.
 */
class EdgeResponsesTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private RunningProxy proxy(String json) throws Exception {
        RunningProxy p = RunningProxy.start(json.replace('\'', '"'));
        open.add(p);
        return p;
    }

    private Backend backend(String name) throws Exception {
        Backend b = Backend.start(name);
        open.add(b);
        return b;
    }

    private RawHttp.Reply raw(RunningProxy p, String request) throws Exception {
        try (RawHttp c = RawHttp.connect(p.port())) {
            return c.send(request).read();
        }
    }

    private static JsonObject error(RawHttp.Reply r, int status) {
        assertEquals(status, r.status(), r.head() + r.body());
        assertTrue(r.headers().getOrDefault("content-type", "").startsWith("application/json"), r.head());
        assertNoSoftwareNamed(r);
        JsonObject e = JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error");
        assertEquals(status, e.get("status").getAsInt(), r.body());
        assertFalse(e.get("code").getAsString().isEmpty(), r.body());
        return e;
    }

    private static void assertNoSoftwareNamed(RawHttp.Reply r) {
        assertNull(r.headers().get("server"), r.head());
        String all = (r.head() + r.body()).toLowerCase();
        assertFalse(all.contains("jetty"), all);
        assertFalse(all.contains("<html"), all);
    }

    @Test
    void badRequestLineIsJson400() throws Exception {
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '127.0.0.1:1'}]}}}");
        error(raw(p, "GET /x HTTP/1.1 junk\r\nHost: h\r\n\r\n"), 400);
        error(raw(p, "GET /x HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n"), 400);
    }

    @Test
    void refusalsForEveryMethodAreJson() throws Exception {
        RunningProxy p = proxy("{'proxy': {'max_header_size': '2k'}, 'upstreams': {'web': {'servers': [{'server': '127.0.0.1:1'}]}}}");
        error(raw(p, "PUT /x HTTP/1.1\r\nHost: h\r\nX-Big: " + "b".repeat(3000) + "\r\nContent-Length: 0\r\n\r\n"), 431);
        error(raw(p, "DELETE /" + "u".repeat(3000) + " HTTP/1.1\r\nHost: h\r\n\r\n"), 414);
    }

    @Test
    void connectFailuresAre502NamingEachServerTriedAndWhy() throws Exception {
        int dead1 = Backend.deadPort();
        int dead2 = Backend.deadPort();
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '127.0.0.1:" + dead1 + "'}, {'server': '127.0.0.1:" + dead2 + "'}]}}}");
        JsonObject e = error(raw(p, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), 502);
        assertEquals("web", e.get("upstream").getAsString());
        JsonArray tried = e.getAsJsonArray("tried");
        assertEquals(2, tried.size(), e.toString());
        for (int i = 0; i < 2; i++) {
            JsonObject t = tried.get(i).getAsJsonObject();
            assertTrue(t.get("server").getAsString().startsWith("127.0.0.1:"), e.toString());
            assertTrue(t.get("reason").getAsString().startsWith("connect failed"), e.toString());
        }
        assertTrue(e.get("text").getAsString().contains(":" + dead1) && e.get("text").getAsString().contains(":" + dead2), e.toString());
    }

    @Test
    void readTimeoutIs504NamingTheServer() throws Exception {
        Backend slow = backend("slow");
        slow.holdRequests(1);
        RunningProxy p = proxy("{'proxy': {'read_timeout': '300ms'}, 'upstreams': {'web': {'retries': 0, 'servers': [{'server': '" + slow.address() + "'}]}}}");
        JsonObject e = error(raw(p, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), 504);
        JsonObject t = e.getAsJsonArray("tried").get(0).getAsJsonObject();
        assertEquals(slow.address(), t.get("server").getAsString());
        assertTrue(t.get("reason").getAsString().contains("read_timeout"), e.toString());
    }

    @Test
    void noRouteAndNoServerAreJsonToo() throws Exception {
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '127.0.0.1:1', 'down': true}]}}, 'routes': [{'path': '/app/', 'upstream': 'web'}]}");
        error(raw(p, "GET /other HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), 404);
        error(raw(p, "GET /app/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), 503);
    }

    @Test
    void viaIsAPseudonymAndNoServerHeaderPassesThrough() throws Exception {
        Backend b = backend("b");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + b.address() + "'}]}}}");
        RawHttp.Reply r = raw(p, "GET /v HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assertEquals(200, r.status());
        assertNoSoftwareNamed(r);
        assertEquals("1.1 upstream-proxy", b.seen.get(0).headers().get("via"));
    }

    @Test
    void notModifiedAndNoContentPassThroughAsSent() throws Exception {
        // Raw, because Jetty as a backend adds Content-Length: 0 to a 304 itself.
        RawBackend s = RawBackend.start((head, out) -> out.write((head.startsWith("GET /304")
                ? "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n"
                : "HTTP/1.1 204 No Content\r\nX-Kept: yes\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII)));
        open.add(s);
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + s.address() + "'}]}}}");
        RawHttp.Reply notModified = raw(p, "GET /304 HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"v1\"\r\nConnection: close\r\n\r\n");
        assertEquals(304, notModified.status());
        assertEquals("\"v1\"", notModified.headers().get("etag"));
        assertNull(notModified.headers().get("content-length"), notModified.head());
        assertNull(notModified.headers().get("transfer-encoding"), notModified.head());
        RawHttp.Reply noContent = raw(p, "GET /204 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assertEquals(204, noContent.status());
        assertEquals("yes", noContent.headers().get("x-kept"));
        assertNull(noContent.headers().get("content-length"), noContent.head());
        assertNull(noContent.headers().get("transfer-encoding"), noContent.head());
    }

    @Test
    void dotSegmentsAreResolvedBeforeRoutingAndForwardedResolved() throws Exception {
        Backend app = backend("app");
        Backend admin = backend("admin");
        RunningProxy p = proxy("{'upstreams': {'app': {'servers': [{'server': '" + app.address() + "'}]}, 'admin': {'servers': [{'server': '"
                + admin.address() + "'}]}}, 'routes': [{'path': '/app/', 'upstream': 'app'}, {'path': '/admin/', 'upstream': 'admin'}]}");
        RawHttp.Reply r = raw(p, "GET /app/../admin/users?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assertEquals(200, r.status(), r.body());
        assertEquals("admin", r.body());
        assertEquals("/admin/users?x=1", admin.seen.get(0).pathQuery());
        assertEquals("app", raw(p, "GET /app/./a/../b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").body());
        assertEquals("/app/b", app.seen.get(0).pathQuery());
        assertTrue(app.seen.size() == 1 && admin.seen.size() == 1);
    }

    @Test
    void ambiguousOrEscapingPathsAre400() throws Exception {
        Backend b = backend("b");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + b.address() + "'}]}}}");
        for (String path : List.of("/a%2Fb", "/a/%2e%2e/b", "/a/%2E%2E/b", "/a%00b", "/../etc/passwd", "/a/%2e/b")) {
            error(raw(p, "GET " + path + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), 400);
        }
        assertEquals(0, b.hits.get());
    }

}
