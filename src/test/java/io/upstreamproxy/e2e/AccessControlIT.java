package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** allow/deny, token and read_only on the real proxy: they guard the API and status page, never proxied traffic. */
class AccessControlIT {
    static final String TOKEN = "correct-horse-battery";
    Backend backend;

    @BeforeEach
    void start() throws Exception {
        backend = Backend.start("app");
    }

    @AfterEach
    void stop() throws Exception {
        backend.close();
    }

    RunningProxy proxy(String api) throws Exception {
        return RunningProxy.start("{\"upstreams\": {\"backend\": {\"servers\": [{\"server\": \"" + backend.address() + "\"}]}},"
                + " \"api\": " + api + "}");
    }

    @Test
    void deniedClientGets403OnApiAndStatusPageWhileItsProxiedTrafficFlows() throws Exception {
        try (RunningProxy p = proxy("{\"allow\": [\"127.0.0.1\"], \"deny\": [\"all\"]}")) {
            assertEquals(403, ApiClient.statusFrom("127.0.0.2", p.port(), "/api/upstreams"));
            assertEquals(403, ApiClient.statusFrom("127.0.0.2", p.port(), "/api/upstreams/backend/servers/0"));
            assertEquals(403, ApiClient.statusFrom("127.0.0.2", p.port(), "/status/"));
            assertEquals(403, ApiClient.statusFrom("127.0.0.2", p.port(), "/status/index.html"));
            int hits = backend.hits.get();
            assertEquals(200, ApiClient.statusFrom("127.0.0.2", p.port(), "/app/page"));
            assertEquals(hits + 1, backend.hits.get(), "proxied traffic from the same client reached the backend");
            assertEquals(200, ApiClient.statusFrom("127.0.0.1", p.port(), "/api/upstreams"));
        }
    }

    @Test
    void forwardedForCannotSneakPastTheRules() throws Exception {
        try (RunningProxy p = proxy("{\"allow\": [\"127.0.0.2\"], \"deny\": [\"all\"]}")) {
            HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(p.url("/api/upstreams")))
                    .header("X-Forwarded-For", "127.0.0.2"));
            assertEquals(403, r.statusCode(), "127.0.0.1 is not a trusted proxy: its X-Forwarded-For is ignored");
        }
        try (RunningProxy p = proxy("{\"allow\": [\"192.0.2.0/24\"], \"deny\": [\"all\"], \"trusted_proxies\": [\"127.0.0.1\"]}")) {
            HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(p.url("/api/upstreams")))
                    .header("X-Forwarded-For", "192.0.2.10"));
            assertEquals(200, r.statusCode(), "a trusted proxy's X-Forwarded-For names the client");
        }
    }

    @Test
    void tokenIsNeededForTheApiButNotForProxiedTraffic() throws Exception {
        try (RunningProxy p = proxy("{\"token\": \"" + TOKEN + "\"}")) {
            HttpResponse<String> missing = p.get("/api/upstreams");
            assertEquals(401, missing.statusCode());
            List<String> challenges = missing.headers().allValues("WWW-Authenticate");
            assertTrue(challenges.get(0).startsWith("Bearer "), challenges.toString());
            assertTrue(missing.body().contains("\"Unauthorized\""));
            HttpResponse<String> wrong = Http.send(HttpRequest.newBuilder(URI.create(p.url("/api/upstreams")))
                    .header("Authorization", "Bearer not-the-token"));
            assertEquals(401, wrong.statusCode());
            HttpResponse<String> ok = Http.send(HttpRequest.newBuilder(URI.create(p.url("/api/upstreams")))
                    .header("Authorization", "Bearer " + TOKEN));
            assertEquals(200, ok.statusCode());
            HttpResponse<String> patch = Http.send(HttpRequest.newBuilder(URI.create(p.url("/api/upstreams/backend/servers/0")))
                    .header("Authorization", "Bearer " + TOKEN)
                    .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"weight\": 2}")));
            assertEquals(200, patch.statusCode(), patch.body());
            assertEquals(200, p.get("/anything").statusCode(), "proxied requests need no token");
        }
    }

    @Test
    void readOnlyApiAnswersReadsAndRefusesWrites() throws Exception {
        try (RunningProxy p = proxy("{\"read_only\": true}")) {
            HttpResponse<String> r = Http.send("PATCH", p.url("/api/upstreams/backend/servers/0"), "application/x-www-form-urlencoded", "{\"drain\":true}");
            assertEquals(405, r.statusCode());
            assertTrue(r.body().contains("ReadOnly"));
            assertEquals("GET, HEAD, OPTIONS", r.headers().firstValue("Allow").orElseThrow());
            assertEquals(200, p.get("/api/upstreams/backend/servers/0").statusCode());
            assertTrue(p.get("/api/upstreams/backend/servers/0").body().contains("\"drain\": false"));
        }
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        try (RunningProxy p = proxy("{\"max_body_size\": 64}")) {
            String big = "{\"weight\": 2, \"padding\": \"" + "x".repeat(100) + "\"}";
            HttpResponse<String> r = Http.send("PATCH", p.url("/api/upstreams/backend/servers/0"), "application/json", big);
            assertEquals(413, r.statusCode());
            assertTrue(r.body().contains("BodyTooLarge"));
        }
    }
}
