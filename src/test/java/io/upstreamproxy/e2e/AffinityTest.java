package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.testing.WsBackend;
import io.upstreamproxy.testing.WsClient;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Sticky;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Sticky sessions and outlier detection (SPEC §13) through the real proxy to real backends,
 * in both front ends (the servlet one in the surefire execution that sets the property).
 * Each test has its own upstream over its own backends, so none sees another's drains and downs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AffinityTest {
    private final Backend[] cookie = new Backend[3];
    private final Backend[] moves = new Backend[2];
    private final Backend[] learn = new Backend[3];
    private final Backend[] flaky = new Backend[4];
    private WsBackend ws1;
    private WsBackend ws2;
    private String config;
    private RunningProxy proxy;

    @BeforeAll
    void start() throws Exception {
        startAll(cookie, "c");
        startAll(moves, "m");
        startAll(learn, "l");
        startAll(flaky, "f");
        ws1 = WsBackend.start("w1");
        ws2 = WsBackend.start("w2");
        learn[1].responseHeaders.put("Set-Cookie", "JSESSIONID=session-of-l1; Path=/; HttpOnly");
        flaky[0].status = 503;
        flaky[1].status = 503;
        flaky[2].status = 503;
        config = "{\"upstreams\": {"
                + upstream("cookie", "\"sticky\": {\"cookie\": \"srv_id\", \"expires\": \"1h\"}", cookie) + ","
                + upstream("moves", "\"sticky\": {\"cookie\": \"srv_id\"}", moves) + ","
                + upstream("learn", "\"sticky\": {\"learn\": \"JSESSIONID\"}", learn) + ","
                + upstream("flaky", "\"outlier_detection\": {\"consecutive_errors\": 3, \"max_ejection_percent\": 50, "
                        + "\"base_ejection_time\": \"1h\"}", flaky) + ","
                + "\"ws\": {\"sticky\": {\"cookie\": \"srv_id\"}, \"servers\": [{\"server\": \"" + ws1.address() + "\"}, "
                + "{\"server\": \"" + ws2.address() + "\"}]}"
                + "}, \"routes\": [" + route("cookie") + ", " + route("moves") + ", " + route("learn") + ", " + route("flaky")
                + ", {\"path\": \"/ws\", \"upstream\": \"ws\"}]}";
        proxy = RunningProxy.start(config);
    }

    private static void startAll(Backend[] backends, String prefix) throws Exception {
        for (int i = 0; i < backends.length; i++) {
            backends[i] = Backend.start(prefix + i);
        }
    }

    private static String upstream(String name, String settings, Backend... backends) {
        StringBuilder servers = new StringBuilder();
        for (Backend b : backends) {
            servers.append(servers.length() == 0 ? "" : ", ").append("{\"server\": \"").append(b.address()).append("\", \"max_fails\": 0}");
        }
        return "\"" + name + "\": {" + settings + ", \"servers\": [" + servers + "]}";
    }

    private static String route(String name) {
        return "{\"path\": \"/" + name + "/\", \"upstream\": \"" + name + "\"}";
    }

    @AfterAll
    void stop() throws Exception {
        proxy.close();
        for (Backend[] group : new Backend[][] {cookie, moves, learn, flaky}) {
            for (Backend b : group) {
                b.close();
            }
        }
        ws1.close();
        ws2.close();
    }

    private HttpResponse<String> get(String path, String cookieHeader) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(proxy.url(path)));
        if (cookieHeader != null) {
            r.header("Cookie", cookieHeader);
        }
        return Http.send(r);
    }

    /** The {@code srv_id=VALUE} part of the response's Set-Cookie, or null when it sets none. */
    private static String stickyCookie(HttpResponse<String> r) {
        return r.headers().allValues("Set-Cookie").stream().filter(c -> c.startsWith("srv_id="))
                .map(c -> c.substring(0, c.indexOf(';'))).findFirst().orElse(null);
    }

    @Test
    void tenClientsOfTwentyRequestsNeverChangeServer() throws Exception {
        Set<String> used = new HashSet<>();
        for (int client = 0; client < 10; client++) {
            HttpResponse<String> first = get("/cookie/x", null);
            assertEquals(200, first.statusCode());
            String set = first.headers().allValues("Set-Cookie").get(0);
            assertTrue(set.matches("srv_id=[0-9a-f]{16}; Path=/; Max-Age=3600; HttpOnly"), set);
            String cookieHeader = stickyCookie(first);
            used.add(first.body());
            for (int i = 0; i < 19; i++) {
                HttpResponse<String> r = get("/cookie/x", "other=1; " + cookieHeader);
                assertEquals(first.body(), r.body(), "client " + client + " request " + (i + 2));
                assertNull(stickyCookie(r), "no Set-Cookie while the cookie is right");
            }
        }
        assertEquals(3, used.size(), "new clients are still balanced over every server");
    }

    @Test
    void anotherInstanceOrARestartedOneHonoursTheCookie() throws Exception {
        HttpResponse<String> first = get("/cookie/x", null);
        String cookieHeader = stickyCookie(first);
        try (RunningProxy other = RunningProxy.start(config)) {
            for (int i = 0; i < 5; i++) {
                HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(other.url("/cookie/x"))).header("Cookie", cookieHeader));
                assertEquals(first.body(), r.body());
                assertNull(stickyCookie(r));
            }
        }
    }

    @Test
    void drainKeepsBoundClientsAndDownMovesThemWithANewCookie() throws Exception {
        Server m0 = proxy.registry().get("moves").server(0);
        String bound = "srv_id=" + m0.stickyValue();
        assertEquals("m0", get("/moves/x", bound).body());
        patch("moves", 0, "{\"drain\": true}");
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = get("/moves/x", bound);
            assertEquals("m0", r.body(), "a draining server keeps its bound clients");
            assertEquals("m1", get("/moves/x", null).body(), "and gets no new ones");
        }
        patch("moves", 0, "{\"drain\": false, \"down\": true}");
        HttpResponse<String> moved = get("/moves/x", bound);
        assertEquals(200, moved.statusCode());
        assertEquals("m1", moved.body());
        assertEquals("srv_id=" + Sticky.valueOf("moves", 1), stickyCookie(moved), "the client is told its new server");
        patch("moves", 0, "{\"down\": false}");
        assertEquals("m0", get("/moves/x", bound).body(), "an old cookie of a server that is back still binds");
    }

    @Test
    void learnModeKeepsTheSessionOnTheServerThatIssuedIt() throws Exception {
        String session = null;
        for (int i = 0; i < 3 && session == null; i++) { // round-robin: l1 answers one of the first three
            HttpResponse<String> r = get("/learn/x", null);
            if (r.body().equals("l1")) {
                session = r.headers().firstValue("Set-Cookie").orElseThrow();
            }
        }
        assertNotNull(session);
        assertFalse(session.contains("srv_id"), "learn mode sets no cookie of its own");
        for (int i = 0; i < 20; i++) {
            assertEquals("l1", get("/learn/x", "JSESSIONID=session-of-l1").body());
        }
        assertNotEquals(Set.of("l1"), bodies("/learn/x", "JSESSIONID=unknown", 6), "an unknown session is balanced");
    }

    private Set<String> bodies(String path, String cookieHeader, int n) throws Exception {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            seen.add(get(path, cookieHeader).body());
        }
        return seen;
    }

    @Test
    void webSocketUpgradesFollowTheCookie() throws Exception {
        String bound = "srv_id=" + Sticky.valueOf("ws", 1);
        for (int i = 0; i < 4; i++) {
            try (WsClient c = WsClient.connectWithCookie("ws://127.0.0.1:" + proxy.port() + "/ws", bound)) {
                assertEquals("w2:hi", c.ask("hi"));
            }
        }
        assertEquals(0, ws1.upgrades.get());
    }

    @Test
    void threeOfFourServersFailingOnlyTwoAreEjectedAndTheApiShowsWhy() throws Exception {
        for (int i = 0; i < 40; i++) {
            get("/flaky/x", null);
        }
        JsonObject api = JsonParser.parseString(get("/api/upstreams/flaky", null).body()).getAsJsonObject();
        int ejected = 0;
        for (var e : api.getAsJsonArray("servers")) {
            JsonObject s = e.getAsJsonObject();
            if (s.get("state").getAsString().equals("ejected")) {
                ejected++;
                assertEquals("3 consecutive 503", s.get("ejected_reason").getAsString());
                assertNotNull(s.get("ejected_until"));
                assertEquals(1, s.get("ejections").getAsInt());
            }
        }
        assertEquals(2, ejected, api.toString());
        String metrics = get("/metrics", null).body();
        assertTrue(metrics.contains("upstream_proxy_server_ejections_total{server=\"" + flaky[0].address() + "\",upstream=\"flaky\"} 1.0")
                || metrics.contains("upstream_proxy_server_ejections_total{server=\"" + flaky[1].address() + "\",upstream=\"flaky\"} 1.0"), metrics);
        assertTrue(metrics.contains("state=\"ejected\",upstream=\"flaky\"} 1.0"), metrics);
    }

    private void patch(String upstream, int id, String body) throws Exception {
        HttpResponse<String> r = Http.send("PATCH", proxy.url("/api/upstreams/" + upstream + "/servers/" + id), "application/json", body);
        assertEquals(200, r.statusCode(), r.body());
    }
}
