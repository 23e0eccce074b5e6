package io.upstreamproxy.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.WsBackend;
import io.upstreamproxy.testing.WsClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.opentest4j.TestAbortedException;

/**
 * What the built WAR must do in any servlet container, checked against a real one. The
 * subclass deploys {@code target/upstream-proxy.war} twice and starts the container once for
 * the class: under {@value #CONTEXT} reading its config from a container-wide source (the
 * environment variable or the system property) that names two real backends, weights 2 and 1;
 * under {@value #PARAM_CONTEXT} reading another config, naming only the light backend, from its
 * context parameter. After every test, and again after the container stopped, its log must
 * hold no error, warning or exception from our webapp.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DeployedWarContract {
    static final String CONTEXT = "/lb";
    static final String PARAM_CONTEXT = "/lb-param";

    Backend heavy;
    Backend light;
    WsBackend webSocket;
    Path dir;
    Path config;
    Path paramConfig;
    RunningContainer container;
    /** Why the container is not here (never in CI, see {@link Prerequisite}). */
    String missing;

    /**
     * Deploys {@code war} under {@value #CONTEXT}, where it must find {@code config} through the
     * container-wide source, and under {@value #PARAM_CONTEXT} with {@code paramConfig} as context
     * parameter {@code upstream-proxy.config}; then starts the container in {@code dir}.
     */
    abstract RunningContainer start(Path dir, Path war, Path config, Path paramConfig) throws Exception;

    @BeforeAll
    void startContainer() throws Exception {
        Path war = builtWar();
        heavy = Backend.start("heavy");
        light = Backend.start("light");
        webSocket = WsBackend.start("ws");
        dir = Files.createTempDirectory("upstream-proxy-" + getClass().getSimpleName() + "-");
        config = writeConfig(dir.resolve("lb.json"), webSocket, server(heavy, 2), server(light, 1));
        paramConfig = writeConfig(dir.resolve("lb-param.json"), null, server(light, 1));
        try {
            container = start(dir, war, config, paramConfig);
        } catch (TestAbortedException e) {
            missing = e.getMessage();
        }
    }

    /** Each test reports itself skipped, so the count of skipped tests shows what did not run. */
    @BeforeEach
    void skipWithoutTheContainer() {
        Assumptions.assumeTrue(missing == null, missing);
    }

    @AfterEach
    void noProblemsInTheLog() {
        if (container != null) {
            assertNoProblems("while serving");
        }
    }

    @AfterAll
    void stopContainer() throws Exception {
        try {
            if (container != null) {
                container.close();
                // Undeploying is where a webapp that forgot to stop its threads gets reported.
                assertNoProblems("after shutdown");
            }
        } finally {
            for (Backend b : new Backend[] {heavy, light}) {
                if (b != null) {
                    b.close();
                }
            }
            if (webSocket != null) {
                webSocket.close();
            }
            deleteRecursively(dir);
        }
    }

    @Test
    void webappStartsWithTheConfigFromTheContainerWideSource() {
        assertReadyWith(config);
    }

    @Test
    void relaysAWebSocketThroughTheContainersUpgrade() throws Exception {
        try (WsClient ws = WsClient.connect(container.url(CONTEXT + "/ws/echo").replaceFirst("^http:", "ws:"))) {
            assertEquals("ws:hello", ws.ask("hello"));
            assertEquals("ws:" + "y".repeat(20_000), ws.ask("y".repeat(20_000)));
        }
    }

    @Test
    void contextParameterWinsOverTheContainerWideSource() throws Exception {
        assertReadyWith(paramConfig);
        int heavyBefore = heavy.hits.get();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = Http.get(container.url(PARAM_CONTEXT + "/x"));
            assertEquals(200, r.statusCode(), r::body);
            assertEquals("light", r.body(), "the context parameter's config names only the light backend");
        }
        assertEquals(heavyBefore, heavy.hits.get(), "requests to a server only the other config names");
    }

    @Test
    void balancesRequestsUnderTheContextPathByWeight() throws Exception {
        int heavyBefore = heavy.seen.size();
        int lightBefore = light.seen.size();
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = Http.get(container.url(CONTEXT + "/hello?n=" + i));
            assertEquals(200, r.statusCode(), r::body);
            assertTrue(r.body().equals("heavy") || r.body().equals("light"), r::body);
        }
        // Smooth weighted round robin with weights 2 and 1: every 3 picks hold 2 of one, 1 of the other.
        assertEquals(4, heavy.seen.size() - heavyBefore, "requests to the weight-2 server");
        assertEquals(2, light.seen.size() - lightBefore, "requests to the weight-1 server");
        for (Backend.Seen seen : seenSince(heavyBefore, lightBefore)) {
            assertTrue(seen.pathQuery().startsWith("/hello?n="), () -> "the backend must see the path without the context path: " + seen.pathQuery());
            assertEquals("127.0.0.1", seen.headers().get("x-forwarded-for"));
        }
    }

    @Test
    void forwardsTheEncodedPathAndQueryAsSent() throws Exception {
        int heavyBefore = heavy.seen.size();
        int lightBefore = light.seen.size();
        HttpResponse<String> r = Http.get(container.url(CONTEXT + "/caf%C3%A9/a%20b?x=1%202&y=%26"));
        assertEquals(200, r.statusCode(), r::body);
        List<Backend.Seen> seen = seenSince(heavyBefore, lightBefore);
        assertEquals(1, seen.size(), "requests the backends saw");
        assertEquals("/caf%C3%A9/a%20b?x=1%202&y=%26", seen.get(0).pathQuery(), "the container must not decode what it forwards");
        assertEquals("http", seen.get(0).headers().get("x-forwarded-proto"));
        assertEquals("127.0.0.1:" + container.port(), seen.get(0).headers().get("x-forwarded-host"));
    }

    @Test
    void streamsALargeRequestBodyThroughTheContainersAsyncIo() throws Exception {
        // Over proxy.buffer_body (64 KiB), so it streams through the container's non-blocking reads.
        String body = "0123456789abcdef".repeat(64 * 1024);
        int heavyBefore = heavy.seen.size();
        int lightBefore = light.seen.size();
        HttpResponse<String> r = Http.send("POST", container.url(CONTEXT + "/upload"), "application/octet-stream", body);
        assertEquals(200, r.statusCode(), r::body);
        List<Backend.Seen> seen = seenSince(heavyBefore, lightBefore);
        assertEquals(1, seen.size(), "requests the backends saw");
        assertEquals("/upload", seen.get(0).pathQuery());
        assertEquals(body.length(), seen.get(0).body().length(), "bytes the backend received");
        assertEquals(body, seen.get(0).body());
    }

    @Test
    void forwardsAFormPostBodyUntouched() throws Exception {
        // A container parses form bodies when anyone asks for a parameter; the proxy must not.
        int heavyBefore = heavy.seen.size();
        int lightBefore = light.seen.size();
        HttpResponse<String> r = Http.send("POST", container.url(CONTEXT + "/form?q=1"), "application/x-www-form-urlencoded", "a=1&b=%26");
        assertEquals(200, r.statusCode(), r::body);
        List<Backend.Seen> seen = seenSince(heavyBefore, lightBefore);
        assertEquals(1, seen.size(), "requests the backends saw");
        assertEquals("a=1&b=%26", seen.get(0).body());
    }

    @Test
    void servesTheStatusPageUnderTheContextPathPointingAtItsApi() throws Exception {
        int proxiedBefore = heavy.hits.get() + light.hits.get();
        HttpResponse<String> page = Http.get(container.url(CONTEXT + "/status/"));
        assertEquals(200, page.statusCode(), page::body);
        assertTrue(page.body().contains("status.js"), page::body);
        assertEquals(200, Http.get(container.url(CONTEXT + "/status/status.js")).statusCode());
        HttpResponse<String> settings = Http.get(container.url(CONTEXT + "/status/settings.json"));
        String api = JsonParser.parseString(settings.body()).getAsJsonObject().get("api").getAsString();
        // What the browser does with the page's relative URL: resolve it against the page.
        String resolved = URI.create(container.url(CONTEXT + "/status/")).resolve(api).toString();
        assertEquals(container.url(CONTEXT + "/api/upstreams"), resolved);
        assertEquals(200, Http.get(resolved).statusCode());
        assertEquals(proxiedBefore, heavy.hits.get() + light.hits.get(), "the page is the proxy's own, nothing went to a backend");
    }

    @Test
    void exposesPrometheusMetricsUnderTheContextPath() throws Exception {
        Http.get(container.url(CONTEXT + "/m?n=1"));
        HttpResponse<String> r = Http.get(container.url(CONTEXT + "/metrics"));
        assertEquals(200, r.statusCode(), r::body);
        assertTrue(r.body().contains("# TYPE upstream_proxy_requests_total counter"), r::body);
        assertTrue(r.body().contains("upstream_proxy_request_duration_seconds_bucket{"), r::body);
        assertTrue(r.body().contains("\njvm_threads_current "), r::body);
    }

    @Test
    void answersReadinessAndLivenessUnderTheContextPath() throws Exception {
        int proxiedBefore = heavy.hits.get() + light.hits.get();
        HttpResponse<String> ready = Http.get(container.url(CONTEXT + "/api/ready"));
        assertEquals(200, ready.statusCode(), ready::body);
        assertEquals("{\"status\":\"ready\"}\n", ready.body());
        assertEquals(200, Http.get(container.url(CONTEXT + "/api/live")).statusCode());
        assertEquals(proxiedBefore, heavy.hits.get() + light.hits.get(), "the probes answered themselves, nothing went to a backend");
    }

    @Test
    void answersTheApiUnderTheContextPath() throws Exception {
        int proxiedBefore = heavy.hits.get() + light.hits.get();
        HttpResponse<String> r = Http.get(container.url(CONTEXT + "/api/upstreams"));
        assertEquals(200, r.statusCode(), r::body);
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers()::toString);
        JsonArray servers = JsonParser.parseString(r.body()).getAsJsonObject()
                .getAsJsonObject("backend").getAsJsonArray("servers");
        assertEquals(heavy.address(), servers.get(0).getAsJsonObject().get("server").getAsString(), r::body);
        assertEquals(light.address(), servers.get(1).getAsJsonObject().get("server").getAsString(), r::body);
        assertEquals(proxiedBefore, heavy.hits.get() + light.hits.get(), "the API answered itself, nothing went to a backend");
    }

    /**
     * Sent as the seed module's {@code curl -X PATCH -d '{"drain":true}'} sends it, labelled
     * {@code application/x-www-form-urlencoded}: the container must leave that body to the API.
     */
    @Test
    void patchDrainStopsNewRequestsToThatServerAndIsSavedInTheStateFile() throws Exception {
        String server0 = container.url(CONTEXT + "/api/upstreams/backend/servers/0");
        HttpResponse<String> drained = Http.send("PATCH", server0, "application/x-www-form-urlencoded", "{\"drain\":true}");
        try {
            assertEquals(200, drained.statusCode(), drained::body);
            JsonObject answer = JsonParser.parseString(drained.body()).getAsJsonObject();
            assertEquals("success", answer.get("status").getAsString(), drained::body);
            assertTrue(answer.getAsJsonObject("server").get("drain").getAsBoolean(), drained::body);
            assertEquals("draining", answer.getAsJsonObject("server").get("state").getAsString(), drained::body);
            String state = Files.readString(dir.resolve("state/lb.state.json"));
            assertTrue(state.replace(" ", "").contains("\"drain\":true"), () -> "the state file the webapp wrote: " + state);

            int heavyBefore = heavy.hits.get();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> r = Http.get(container.url(CONTEXT + "/while-draining"));
                assertEquals("light", r.body(), "every new request goes to the server that is not draining");
            }
            assertEquals(heavyBefore, heavy.hits.get(), "requests to the drained server");
        } finally {
            HttpResponse<String> undrained = Http.send("PATCH", server0, "application/json", "{\"drain\":false}");
            assertEquals(200, undrained.statusCode(), undrained::body);
        }
        int heavyBefore = heavy.hits.get();
        for (int i = 0; i < 3; i++) {
            Http.get(container.url(CONTEXT + "/after-drain"));
        }
        assertEquals(2, heavy.hits.get() - heavyBefore, "the undrained server takes its share again");
    }

    @Test
    void addsAndRemovesAServerWithItsLocationUnderTheContextPath() throws Exception {
        String servers = CONTEXT + "/api/upstreams/backend/servers";
        String body = "{\"server\": \"127.0.0.1:" + Backend.deadPort() + "\", \"down\": true}";
        HttpResponse<String> added = Http.send("POST", container.url(servers), "application/json", body);
        assertEquals(201, added.statusCode(), added::body);
        int id = JsonParser.parseString(added.body()).getAsJsonObject().get("id").getAsInt();
        assertEquals(servers + "/" + id, added.headers().firstValue("Location").orElse(null));

        assertEquals(200, Http.get(container.url(servers + "/" + id)).statusCode());
        HttpResponse<String> removed = Http.send("DELETE", container.url(servers + "/" + id), null, null);
        assertEquals(200, removed.statusCode(), removed::body);
        HttpResponse<String> gone = Http.get(container.url(servers + "/" + id));
        assertEquals(404, gone.statusCode(), gone::body);
        assertTrue(gone.body().contains("ServerNotFound"), gone::body);
    }

    @Test
    void postReloadAppliesTheEditedConfigAndABrokenOneChangesNothing() throws Exception {
        String original = Files.readString(paramConfig);
        String server0 = container.url(PARAM_CONTEXT + "/api/upstreams/backend/servers/0");
        String reload = container.url(PARAM_CONTEXT + "/api/reload");
        try {
            Files.writeString(paramConfig, original.replace(server(light, 1), server(light, 3)));
            HttpResponse<String> r = Http.send("POST", reload, null, null);
            assertEquals(200, r.statusCode(), r::body);
            assertEquals("success", JsonParser.parseString(r.body()).getAsJsonObject().get("status").getAsString(), r::body);
            assertEquals(3, JsonParser.parseString(Http.get(server0).body()).getAsJsonObject().get("weight").getAsInt());

            Files.writeString(paramConfig, "{\"upstreams\": {");
            HttpResponse<String> broken = Http.send("POST", reload, null, null);
            assertEquals(400, broken.statusCode(), broken::body);
            assertTrue(broken.body().contains(paramConfig + ": upstreams: unexpected end of file at line 1 column 16"), broken::body);
            assertEquals(3, JsonParser.parseString(Http.get(server0).body()).getAsJsonObject().get("weight").getAsInt());
            assertEquals("light", Http.get(container.url(PARAM_CONTEXT + "/x")).body());
            assertEquals(405, Http.get(reload).statusCode());
        } finally {
            Files.writeString(paramConfig, original);
            assertEquals(200, Http.send("POST", reload, null, null).statusCode());
        }
    }

    /** Requests the backends saw after they had seen {@code heavyMark} and {@code lightMark} requests. */
    List<Backend.Seen> seenSince(int heavyMark, int lightMark) {
        return Stream.concat(heavy.seen.subList(heavyMark, heavy.seen.size()).stream(),
                light.seen.subList(lightMark, light.seen.size()).stream()).toList();
    }

    private void assertReadyWith(Path configFile) {
        String counts = configFile.equals(config) ? "2 upstream(s), 2 route(s)" : "1 upstream(s), 1 route(s)";
        assertTrue(container.log().contains("upstream-proxy ready: " + counts + ", config " + configFile),
                () -> "no ready line naming " + configFile + " in the container log:\n" + container.log());
    }

    private static String server(Backend backend, int weight) {
        return "{ \"server\": \"" + backend.address() + "\", \"weight\": " + weight + " }";
    }

    /**
     * A config with one upstream "backend" of {@code servers} (and, when {@code webSocket} is
     * given, an upstream "ws" of it under /ws/), the API, and a state file beside it.
     */
    private static Path writeConfig(Path file, WsBackend webSocket, String... servers) throws IOException {
        String name = file.getFileName().toString().replace(".json", "");
        String ws = webSocket == null ? "" : ", \"ws\": { \"servers\": [ { \"server\": \"" + webSocket.address() + "\" } ] }";
        String wsRoute = webSocket == null ? "" : ", { \"path\": \"/ws/\", \"upstream\": \"ws\" }";
        Files.writeString(file, """
                {
                  "upstreams": { "backend": { "servers": [ %s ] }%s },
                  "routes": [ { "path": "/", "upstream": "backend" }%s ],
                  "api": { "path": "/api/upstreams", "allow": ["127.0.0.1", "::1"], "deny": ["all"] },
                  "state": { "file": "state/%s.state.json" }
                }
                """.formatted(String.join(", ", servers), ws, wsRoute, name));
        return file;
    }

    private void assertNoProblems(String when) {
        // The broken reload's one line is the expected answer to a broken file, not trouble.
        List<String> problems = container.problems().stream().filter(l -> !l.contains("reload failed, still running the previous configuration")).toList();
        assertTrue(problems.isEmpty(), () -> "the container log has trouble from our webapp " + when + ":\n"
                + String.join("\n", problems) + "\n--- full log ---\n" + container.log());
    }

    /** {@code target/upstream-proxy.war}, as failsafe names it. */
    static Path builtWar() {
        String war = System.getProperty("upstream-proxy.war", "");
        if (war.isEmpty() || !Files.isRegularFile(Path.of(war))) {
            fail("no built WAR at \"" + war + "\": run the container tests through `mvn verify`, which builds it first");
        }
        return Path.of(war);
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
