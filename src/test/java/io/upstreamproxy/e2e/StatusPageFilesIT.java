package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** How the proxy serves the status page's files (the browser test covers what the page does). */
class StatusPageFilesIT {
    private static Backend backend;
    private static RunningProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        backend = Backend.start("a");
        proxy = RunningProxy.start("""
                { "upstreams": { "backend": { "servers": [ {"server": "%s"} ] } },
                  "status": {"path": "/ops/status/"},
                  "api": {"path": "/ops/api", "allow": ["127.0.0.1"], "read_only": true} }
                """.formatted(backend.address()));
    }

    @AfterAll
    static void stop() throws Exception {
        proxy.close();
        backend.close();
    }

    @Test
    void servesThePageAtTheConfiguredPathWithStrictHeaders() throws Exception {
        HttpResponse<String> r = proxy.get("/ops/status/");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(r.body().contains("<script src=\"status.js\""), "relative URLs only");
        assertTrue(r.headers().firstValue("Content-Security-Policy").orElse("").contains("frame-ancestors 'none'"));
        assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(""));
        assertEquals(200, proxy.get("/ops/status/status.js").statusCode());
        assertEquals(200, proxy.get("/ops/status/status.css").statusCode());
        assertEquals(0, backend.hits.get(), "nothing of the page reaches a backend");
    }

    @Test
    void settingsTellThePageWhereTheApiIsRelativeToIt() throws Exception {
        HttpResponse<String> r = proxy.get("/ops/status/settings.json");
        assertEquals(200, r.statusCode());
        JsonObject settings = JsonParser.parseString(r.body()).getAsJsonObject();
        assertEquals("../../ops/api", settings.get("api").getAsString());
        assertTrue(settings.get("read_only").getAsBoolean());
        assertTrue(!settings.has("fleet"), "without fleet mode the page's fleet section asks nothing");
        assertEquals("../../ops/routes", settings.get("routes").getAsString());
        assertEquals(200, proxy.get("/ops/routes").statusCode(), "where the page's routes section asks");
    }

    @Test
    void redirectsTheBarePathToTheDirectory() throws Exception {
        HttpResponse<String> r = proxy.get("/ops/status");
        assertEquals(302, r.statusCode());
        assertTrue(r.headers().firstValue("Location").orElse("").endsWith("/ops/status/"), r.headers().toString());
    }

    @Test
    void unknownOrTraversingNamesAre404() throws Exception {
        assertEquals(404, proxy.get("/ops/status/nope.js").statusCode());
        HttpResponse<String> traversal = proxy.get("/ops/status/%2e%2e/WEB-INF/web.xml");
        assertTrue(traversal.statusCode() == 400 || traversal.statusCode() == 404, "status " + traversal.statusCode());
        assertFalse(traversal.body().contains("web-app"));
        assertEquals(404, proxy.get("/ops/status/sub/index.html").statusCode());
    }

    @Test
    void theApiRulesGuardThePage() throws Exception {
        assertEquals(403, ApiClient.statusFrom("127.0.0.2", proxy.port(), "/ops/status/"));
        assertEquals(405, Http.send("POST", proxy.url("/ops/status/"), "application/json", "{}").statusCode(),
                "read_only: no writes, not even to the page");
    }
}
