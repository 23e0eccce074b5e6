package io.upstreamproxy.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code GET /metrics} of the real proxy in front of real backends: series, formats, access, servers coming and going. */
class MetricsEndpointTest {
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

    /**
     * The value of the sample {@code name} whose labels are exactly {@code labels} ("k", "v", ...),
     * in any order; NaN when there is none.
     */
    static double sample(String text, String name, String... labels) {
        java.util.Set<String> want = new java.util.HashSet<>();
        for (int i = 0; i < labels.length; i += 2) {
            want.add(labels[i] + "=\"" + labels[i + 1] + "\"");
        }
        Pattern line = Pattern.compile("^" + Pattern.quote(name) + "(?:\\{([^}]*)\\})? (\\S+)$", Pattern.MULTILINE);
        Matcher m = line.matcher(text);
        while (m.find()) {
            java.util.Set<String> got = new java.util.HashSet<>();
            if (m.group(1) != null && !m.group(1).isEmpty()) {
                got.addAll(List.of(m.group(1).split(",")));
            }
            if (got.equals(want)) {
                return Double.parseDouble(m.group(2));
            }
        }
        return Double.NaN;
    }

    @Test
    void exposesTheSpecSeriesThatPromtoolAccepts() throws Exception {
        Backend a = backend("a");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + a.address() + "', 'weight': 3}, {'server': '127.0.0.1:"
                + Backend.deadPort() + "', 'max_fails': 5}]}}}");
        for (int i = 0; i < 6; i++) {
            assertEquals(200, p.get("/x").statusCode());
        }
        a.status = 503;
        assertEquals(503, p.get("/x").statusCode());
        p.registry().get("web").server(0).update(p.registry().get("web").server(0).config().withDown(true));
        assertEquals(502, p.get("/x").statusCode(), "only the dead server is left");

        HttpResponse<String> r = p.get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"), r.headers().toString());
        String text = r.body();
        assertEquals("", Promtool.check(text), text);

        String sa = a.address();
        String sd = p.registry().get("web").server(1).key();
        String up = "upstream";
        String sv = "server";
        assertEquals(6, sample(text, "upstream_proxy_requests_total", up, "web", sv, sa, "code", "2xx"), text);
        assertEquals(1, sample(text, "upstream_proxy_requests_total", up, "web", sv, sa, "code", "5xx"));
        assertEquals(7, sample(text, "upstream_proxy_request_duration_seconds_count", up, "web", sv, sa), text);
        assertEquals(7, sample(text, "upstream_proxy_header_duration_seconds_bucket", up, "web", sv, sa, "le", "+Inf"), text);
        assertEquals(3, sample(text, "upstream_proxy_server_weight", up, "web", sv, sa));
        assertEquals(1, sample(text, "upstream_proxy_server_state", up, "web", sv, sa, "state", "down"), text);
        assertEquals(0, sample(text, "upstream_proxy_server_state", up, "web", sv, sa, "state", "up"));
        assertEquals(0, sample(text, "upstream_proxy_active_requests", up, "web", sv, sa));
        assertEquals(7, sample(text, "upstream_proxy_received_bytes_total", up, "web", sv, sa), "six \"a\" and one \"a\" with 503");
        assertEquals(0, sample(text, "upstream_proxy_sent_bytes_total", up, "web", sv, sa));
        assertTrue(sample(text, "upstream_proxy_fails_total", up, "web", sv, sd) >= 2, text);
        assertEquals(0, sample(text, "upstream_proxy_unavail_total", up, "web", sv, sd));
        assertEquals(0, sample(text, "upstream_proxy_health_checks_total", up, "web", sv, sd, "result", "pass"));
        assertEquals(0, sample(text, "upstream_proxy_health_checks_total", up, "web", sv, sd, "result", "fail"));
        assertEquals(0, sample(text, "upstream_proxy_no_eligible_total", up, "web"));
        assertTrue(sample(text, "upstream_proxy_retries_total", up, "web") >= 1, text);
        assertEquals(0, sample(text, "upstream_proxy_access_log_dropped_total"));
        assertTrue(text.contains("\njvm_memory_used_bytes{"), "JVM series");
        assertTrue(text.contains("\nprocess_cpu_seconds_total "), "process series");
    }

    @Test
    void answersOpenMetricsWhenAsked() throws Exception {
        Backend a = backend("a");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + a.address() + "'}]}}}");
        p.get("/");
        HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(p.url("/metrics")))
                .header("Accept", "application/openmetrics-text; version=1.0.0; charset=utf-8,text/plain;version=0.0.4;q=0.5"));
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/openmetrics-text"), r.headers().toString());
        assertTrue(r.body().endsWith("# EOF\n"), r.body());
        assertTrue(r.body().contains("# TYPE upstream_proxy_requests counter"), r.body());
    }

    @Test
    void addedServersAppearAndRemovedOnesDisappear() throws Exception {
        Backend a = backend("a");
        Backend b = backend("b");
        RunningProxy p = proxy("{'upstreams': {'web': {'servers': [{'server': '" + a.address() + "'}]}}}");
        p.get("/");
        String bSeries = "server=\"" + b.address() + "\"";
        assertFalse(p.get("/metrics").body().contains(bSeries));
        assertEquals(201, Http.send("POST", p.url("/api/upstreams/web/servers"), "application/json",
                "{\"server\": \"" + b.address() + "\"}").statusCode());
        String added = p.get("/metrics").body();
        assertEquals(0, sample(added, "upstream_proxy_request_duration_seconds_count", "upstream", "web", "server", b.address()), added);
        assertEquals(0, sample(added, "upstream_proxy_requests_total", "upstream", "web", "server", b.address(), "code", "2xx"), added);
        assertEquals(200, Http.send("DELETE", p.url("/api/upstreams/web/servers/0"), null, null).statusCode());
        String after = p.get("/metrics").body();
        assertFalse(after.contains("server=\"" + a.address() + "\""), after);
        assertTrue(after.contains(bSeries));
        assertEquals("", Promtool.check(after), after);
    }

    @Test
    void followsItsOwnAllowDenyAndTheApiToken() throws Exception {
        Backend a = backend("a");
        RunningProxy closed = proxy("{'metrics': {'path': '/prom', 'deny': ['all']}, 'upstreams': {'web': {'servers': [{'server': '" + a.address() + "'}]}}}");
        HttpResponse<String> refused = closed.get("/prom");
        assertEquals(403, refused.statusCode());
        assertTrue(refused.body().contains("(metrics.allow / metrics.deny)"), refused.body());
        assertEquals(200, closed.get("/metrics").statusCode(), "/metrics is then a proxied path like any other");
        RunningProxy token = proxy("{'api': {'token': 'sesame-open'}, 'upstreams': {'web': {'servers': [{'server': '" + a.address() + "'}]}}}");
        assertEquals(401, token.get("/metrics").statusCode());
        HttpResponse<String> ok = Http.send(HttpRequest.newBuilder(URI.create(token.url("/metrics"))).header("Authorization", "Bearer sesame-open"));
        assertEquals(200, ok.statusCode());
        assertEquals(405, Http.send(HttpRequest.newBuilder(URI.create(token.url("/metrics"))).header("Authorization", "Bearer sesame-open")
                .POST(HttpRequest.BodyPublishers.noBody())).statusCode());
    }
}
