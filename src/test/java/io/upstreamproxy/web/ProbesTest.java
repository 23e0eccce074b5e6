package io.upstreamproxy.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /api/ready} and {@code /api/live} on the real proxy: what they answer, when, and that the access log never sees them. */
class ProbesTest {
    @TempDir
    Path dir;
    private Backend backend;
    private Main main;

    @AfterEach
    void close() throws Exception {
        if (main != null) {
            main.stop();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private Main start(String serverExtra, String rest) throws Exception {
        backend = Backend.start("b");
        ProxyConfig c = ConfigLoader.parse("{\"listen\": {\"host\": \"127.0.0.1\", \"port\": 0}, \"upstreams\": {\"web\": {\"servers\": [{\"server\": \""
                + backend.address() + "\"" + serverExtra + "}]}}" + rest + "}", dir.resolve("c.json"));
        main = Main.start(c, false, true);
        return main;
    }

    private String url(String path) {
        return "http://127.0.0.1:" + main.port() + path;
    }

    @Test
    void readyAndLiveWhenARouteHasAServerInRotation() throws Exception {
        start("", "");
        HttpResponse<String> ready = Http.get(url("/api/ready"));
        assertEquals(200, ready.statusCode());
        assertEquals("{\"status\":\"ready\"}\n", ready.body());
        assertEquals("no-store", ready.headers().firstValue("Cache-Control").orElse(""));
        assertEquals(200, Http.get(url("/api/live")).statusCode());
    }

    @Test
    void notReadyWhenNoRouteHasAServerInRotationButLive() throws Exception {
        start(", \"down\": true", "");
        HttpResponse<String> ready = Http.get(url("/api/ready"));
        assertEquals(503, ready.statusCode());
        assertTrue(ready.body().contains("no route has a server in rotation"), ready.body());
        assertEquals(200, Http.get(url("/api/live")).statusCode());
    }

    @Test
    void probesStayOutOfTheAccessLog() throws Exception {
        Path log = dir.resolve("access.log");
        start("", ", \"access_log\": {\"file\": \"access.log\"}");
        assertEquals(200, Http.get(url("/api/ready")).statusCode());
        assertEquals(200, Http.get(url("/api/live")).statusCode());
        assertEquals(200, Http.get(url("/proxied")).statusCode());
        long deadline = System.nanoTime() + 10_000_000_000L;
        String text = "";
        while (!text.contains("/proxied") && System.nanoTime() < deadline) {
            text = Files.exists(log) ? Files.readString(log) : "";
            Thread.onSpinWait();
        }
        assertTrue(text.contains("/proxied"), text);
        assertFalse(text.contains("/api/ready") || text.contains("/api/live"), text);
    }

    @Test
    void readyTurns503ForTheShutdownDelayWhileRequestsAreStillServed() throws Exception {
        start("", ", \"shutdown\": {\"delay\": \"3s\", \"timeout\": \"5s\"}");
        Main stopping = main;
        main = null;
        CompletableFuture<Void> stop = CompletableFuture.runAsync(() -> {
            try {
                stopping.stop();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + 3_000_000_000L;
        int status = 200;
        while (status == 200 && System.nanoTime() < deadline) {
            status = Http.get("http://127.0.0.1:" + stopping.port() + "/api/ready").statusCode();
        }
        assertEquals(503, status);
        assertEquals(503, Http.get("http://127.0.0.1:" + stopping.port() + "/status/").statusCode(), "the status page turns 503 too");
        assertEquals(200, Http.get("http://127.0.0.1:" + stopping.port() + "/proxied").statusCode());
        assertEquals(200, Http.get("http://127.0.0.1:" + stopping.port() + "/api/live").statusCode());
        stop.join();
    }
}
