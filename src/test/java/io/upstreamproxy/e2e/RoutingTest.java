package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** SPEC §12 end to end: real Jetty servers on port 0 behind the jar's front end, one matcher, action or policy a test. */
class RoutingTest {
    private final List<AutoCloseable> open = new ArrayList<>();
    private Backend app;
    private Backend api;

    @BeforeEach
    void backends() throws Exception {
        app = Backend.start("app");
        api = Backend.start("api");
        open.add(app);
        open.add(api);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private RunningProxy proxy(String routes) throws Exception {
        return proxy("", routes);
    }

    private RunningProxy proxy(String listen, String routes) throws Exception {
        String json = ("{" + listen + "'upstreams': {'app': {'servers': [{'server': '" + app.address() + "'}]},"
                + " 'api': {'servers': [{'server': '" + api.address() + "'}]}}, 'routes': " + routes + "}").replace('\'', '"');
        RunningProxy p = RunningProxy.start(json);
        open.add(p);
        return p;
    }

    private static RawHttp.Reply get(RunningProxy p, String target, String... headers) throws Exception {
        StringBuilder b = new StringBuilder("GET " + target + " HTTP/1.1\r\n");
        boolean host = false;
        for (String h : headers) {
            b.append(h).append("\r\n");
            host |= h.toLowerCase().startsWith("host:");
        }
        if (!host) {
            b.append("Host: localhost\r\n");
        }
        try (RawHttp c = RawHttp.connect(p.port())) {
            return c.send(b.append("\r\n").toString()).read();
        }
    }

    @Test
    void hostsPickTheirUpstreamIgnoringCaseAndPort() throws Exception {
        RunningProxy p = proxy("[{'host': 'api.example.com', 'upstream': 'api'}, {'host': '*.example.com', 'upstream': 'app'}]");
        assertEquals("api", get(p, "/x", "Host: API.example.COM:8080").body());
        assertEquals("app", get(p, "/x", "Host: www.example.com").body());
        RawHttp.Reply none = get(p, "/x", "Host: example.org");
        assertEquals(404, none.status());
        JsonObject error = JsonParser.parseString(none.body()).getAsJsonObject().getAsJsonObject("error");
        assertEquals("RouteNotFound", error.get("code").getAsString());
        assertEquals(none.headers().get("x-request-id"), error.get("request_id").getAsString());
    }

    @Test
    void exactAndRegexPathsAndMethods() throws Exception {
        RunningProxy p = proxy("[{'path': '=/only', 'upstream': 'api'}, {'path': '~^/img/[0-9]+\\\\.png$', 'methods': ['GET'], 'upstream': 'api'},"
                + " {'path': '/', 'upstream': 'app'}]");
        assertEquals("api", get(p, "/only").body());
        assertEquals("app", get(p, "/only/more").body());
        assertEquals("api", get(p, "/img/12.png").body());
        assertEquals("app", get(p, "/img/a.png").body());
    }

    @Test
    void headerAndQueryConditions() throws Exception {
        RunningProxy p = proxy("[{'headers': {'X-Canary': '1'}, 'upstream': 'api'}, {'query': {'beta': '~^(on|yes)$'}, 'upstream': 'api'},"
                + " {'path': '/', 'upstream': 'app'}]");
        assertEquals("api", get(p, "/", "X-Canary: 1").body());
        assertEquals("app", get(p, "/", "X-Canary: 0").body());
        assertEquals("api", get(p, "/?beta=yes").body());
        assertEquals("app", get(p, "/?beta=no").body());
    }

    @Test
    void listenMatchesTheNamedListener() throws Exception {
        RunningProxy p = proxy("'listen': {'host': '127.0.0.1', 'port': 0, 'name': 'plain'},",
                "[{'listen': 'other', 'upstream': 'api'}, {'listen': 'plain', 'upstream': 'app'}]");
        RawHttp.Reply r = get(p, "/");
        assertEquals("app", r.body(), r.head() + " hits " + app.hits + " " + app.seen);
    }

    @Test
    void splitSendsToEachSide() throws Exception {
        RunningProxy p = proxy("[{'split': [{'upstream': 'app', 'weight': 1}, {'upstream': 'api', 'weight': 1}]}]");
        for (int i = 0; i < 40; i++) {
            assertEquals(200, get(p, "/").status());
        }
        // each side is drawn with chance 1/2: both stay unseen in 40 draws with chance 2^-39
        assertTrue(app.hits.get() > 0 && api.hits.get() > 0, app.hits + " " + api.hits);
        assertEquals(40, app.hits.get() + api.hits.get());
    }

    /** A split's sides with sticky cookies: the client keeps the side its first draw gave it (SPEC §12). */
    @Test
    void aStickyClientKeepsItsSideOfASplit() throws Exception {
        String json = ("{'upstreams': {'app': {'sticky': {'cookie': 'srv'}, 'servers': [{'server': '" + app.address() + "'}]},"
                + " 'api': {'sticky': {'cookie': 'srv'}, 'servers': [{'server': '" + api.address() + "'}]}},"
                + " 'routes': [{'split': [{'upstream': 'app', 'weight': 1}, {'upstream': 'api', 'weight': 1}]}]}").replace('\'', '"');
        RunningProxy p = RunningProxy.start(json);
        open.add(p);
        RawHttp.Reply first = get(p, "/");
        String side = first.body();
        String setCookie = first.headers().get("set-cookie");
        assertTrue(setCookie != null && setCookie.startsWith("srv="), first.head());
        String cookie = "Cookie: " + setCookie.substring(0, setCookie.indexOf(';'));
        for (int i = 0; i < 20; i++) {
            RawHttp.Reply r = get(p, "/n" + i, cookie);
            // drawn again, the other side would come with chance 1/2 each time
            assertEquals(side, r.body(), "request " + i);
            assertEquals(null, r.headers().get("set-cookie"), "bound already: no new cookie");
        }
    }

    @Test
    void redirectsFillInVariablesOrChangeTheScheme() throws Exception {
        RunningProxy p = proxy("[{'host': 'old.example.com', 'redirect': {'to': 'https://new.example.com$request_uri', 'status': 301}},"
                + " {'path': '/', 'redirect': {'scheme': 'https', 'status': 308}}]");
        RawHttp.Reply moved = get(p, "/a/b?c=1", "Host: old.example.com");
        assertEquals(301, moved.status());
        assertEquals("https://new.example.com/a/b?c=1", moved.headers().get("location"));
        RawHttp.Reply https = get(p, "/x?y=2", "Host: Shop.Example.com:8080");
        assertEquals(308, https.status());
        assertEquals("https://shop.example.com/x?y=2", https.headers().get("location"));
        assertEquals(0, app.hits.get() + api.hits.get());
    }

    @Test
    void returnAnswersWithoutAnUpstream() throws Exception {
        RunningProxy p = proxy("[{'path': '=/healthz', 'return': {'status': 200, 'body': 'ok', 'content_type': 'text/plain'}},"
                + " {'path': '/gone', 'return': {'status': 410}}, {'path': '/', 'upstream': 'app'}]");
        RawHttp.Reply ok = get(p, "/healthz");
        assertEquals(200, ok.status());
        assertEquals("ok", ok.body());
        assertEquals("text/plain", ok.headers().get("content-type"));
        assertEquals(410, get(p, "/gone/x").status());
        assertEquals(0, app.hits.get());
    }

    @Test
    void stripPrefixAndRewriteChangeWhatTheServerSees() throws Exception {
        RunningProxy p = proxy("[{'path': '/v1/', 'strip_prefix': true, 'upstream': 'api'},"
                + " {'path': '/old/', 'rewrite': {'regex': '^/old/(.*)$', 'to': '/new/$1'}, 'upstream': 'app'}]");
        assertEquals(200, get(p, "/v1/users?id=3").status());
        assertEquals("/users?id=3", api.seen.get(0).pathQuery());
        assertEquals(200, get(p, "/old/a/b").status());
        assertEquals("/new/a/b", app.seen.get(0).pathQuery());
    }

    @Test
    void headersAreSetAddedAndRemovedBothWays() throws Exception {
        RunningProxy p = proxy("[{'path': '/', 'upstream': 'app',"
                + " 'request_headers': {'set': {'X-Env': 'prod', 'X-Client': '$remote_addr $scheme $host', 'X-Id': '$request_id'},"
                + "                     'remove': ['X-Debug']},"
                + " 'response_headers': {'add': {'Strict-Transport-Security': 'max-age=31536000'}, 'remove': ['Content-Type']}}]");
        RawHttp.Reply r = get(p, "/", "X-Debug: 1", "X-Env: test", "X-Request-Id: abc-123", "Host: Site.example:81");
        assertEquals(200, r.status());
        assertEquals("max-age=31536000", r.headers().get("strict-transport-security"));
        assertNull(r.headers().get("content-type"), r.head());
        Backend.Seen seen = app.seen.get(0);
        assertEquals("prod", seen.headers().get("x-env"));
        assertNull(seen.headers().get("x-debug"));
        assertEquals("127.0.0.1 http site.example", seen.headers().get("x-client"));
        assertEquals("abc-123", seen.headers().get("x-id"));
    }

    @Test
    void requestIdIsKeptWhenValidElseMadeAndForwarded() throws Exception {
        RunningProxy p = proxy("[{'path': '/', 'upstream': 'app'}]");
        get(p, "/", "X-Request-Id: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
        assertEquals("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", app.seen.get(0).headers().get("x-request-id"));
        get(p, "/", "X-Request-Id: bad id with spaces");
        String made = app.seen.get(1).headers().get("x-request-id");
        assertTrue(made.matches("[0-9a-f]{32}"), made);
        get(p, "/");
        String other = app.seen.get(2).headers().get("x-request-id");
        assertTrue(other.matches("[0-9a-f]{32}"), other);
        assertNotEquals(made, other);
    }

    @Test
    void apiRoutesListsTheRoutesInOrderWithTheirCounters() throws Exception {
        RunningProxy p = proxy("[{'path': '=/healthz', 'return': {'status': 204}}, {'host': '*.example.com', 'headers': {'X-Canary': true},"
                + " 'split': [{'upstream': 'app', 'weight': 9}, {'upstream': 'api'}]}, {'path': '/', 'upstream': 'app'}]");
        get(p, "/healthz");
        get(p, "/x");
        app.status = 503;
        get(p, "/y");
        var r = p.get("/api/routes");
        assertEquals(200, r.statusCode(), r.body());
        com.google.gson.JsonArray routes = JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonArray("routes");
        assertEquals(3, routes.size(), r.body());
        JsonObject first = routes.get(0).getAsJsonObject();
        assertEquals("=/healthz", first.getAsJsonObject("match").get("path").getAsString());
        assertEquals(204, first.getAsJsonObject("action").getAsJsonObject("return").get("status").getAsInt());
        assertEquals(1, first.get("requests").getAsLong());
        assertEquals(1, first.getAsJsonObject("responses").get("2xx").getAsLong());
        JsonObject second = routes.get(1).getAsJsonObject();
        assertEquals("*.example.com", second.getAsJsonObject("match").getAsJsonArray("host").get(0).getAsString());
        assertTrue(second.getAsJsonObject("match").getAsJsonObject("headers").get("x-canary").getAsBoolean());
        assertEquals(9, second.getAsJsonObject("action").getAsJsonArray("split").get(0).getAsJsonObject().get("weight").getAsInt());
        assertEquals(0, second.get("requests").getAsLong());
        JsonObject last = routes.get(2).getAsJsonObject();
        assertEquals(2, last.get("requests").getAsLong());
        assertEquals(1, last.getAsJsonObject("responses").get("2xx").getAsLong());
        assertEquals(1, last.getAsJsonObject("responses").get("5xx").getAsLong());
    }

    @Test
    void metricsCountEachRouteByItsIndex() throws Exception {
        RunningProxy p = proxy("[{'path': '=/healthz', 'return': {'status': 204}}, {'path': '/', 'upstream': 'app'}]");
        get(p, "/healthz");
        get(p, "/a");
        get(p, "/b");
        String metrics = p.get("/metrics").body();
        assertTrue(metrics.contains("upstream_proxy_route_requests_total{route=\"0\"} 1.0"), metrics);
        assertTrue(metrics.contains("upstream_proxy_route_requests_total{route=\"1\"} 2.0"), metrics);
        assertTrue(metrics.contains("upstream_proxy_route_responses_total{code=\"2xx\",route=\"1\"} 2.0"), metrics);
    }

    @Test
    void routeBodyLimitAndRetries() throws Exception {
        int dead = Backend.deadPort();
        String json = ("{'upstreams': {'app': {'servers': [{'server': '127.0.0.1:" + dead + "'}, {'server': '" + app.address() + "'}]}},"
                + " 'routes': [{'path': '/small/', 'max_body_size': 4, 'upstream': 'app'},"
                + " {'path': '/once/', 'retries': 0, 'upstream': 'app'}, {'path': '/', 'upstream': 'app'}]}").replace('\'', '"');
        RunningProxy p = RunningProxy.start(json);
        open.add(p);
        try (RawHttp c = RawHttp.connect(p.port())) {
            RawHttp.Reply r = c.send("POST /small/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello").read();
            assertEquals(413, r.status());
            assertTrue(r.body().contains("routes[0].max_body_size"), r.body());
        }
        JsonObject small = JsonParser.parseString(p.get("/api/routes").body()).getAsJsonObject().getAsJsonArray("routes").get(0).getAsJsonObject();
        assertEquals(1, small.getAsJsonObject("responses").get("4xx").getAsLong(), "the 413 counts as the route's answer: " + small);
        // round robin from the dead server on, the route without retries fails once in two; the default route never
        int failedOnce = 0;
        for (int i = 0; i < 4; i++) {
            failedOnce += get(p, "/once/") .status() == 502 ? 1 : 0;
        }
        assertTrue(failedOnce > 0, "retries 0: a request to the dead server is not sent on");
        for (int i = 0; i < 4; i++) {
            assertEquals(200, get(p, "/any").status());
        }
    }
}
