package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.upstreamproxy.balance.Endpoint;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.testing.AgentServer;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Active health checks against real backends, through the real proxy. */
class HealthChecksIT {
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    private Backend a;
    private Backend b;
    private RunningProxy proxy;

    @BeforeEach
    void startBackends() throws Exception {
        a = Backend.start("a");
        b = Backend.start("b");
    }

    @AfterEach
    void stopAll() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        a.close();
        b.close();
    }

    private RunningProxy start(String servers, String healthCheck) throws Exception {
        proxy = RunningProxy.start("""
                { "upstreams": { "backend": { "servers": [ %s ], "health_check": %s } } }
                """.formatted(servers, healthCheck));
        return proxy;
    }

    private String twoServers() {
        return "{\"server\": \"%s\"}, {\"server\": \"%s\"}".formatted(a.address(), b.address());
    }

    private Upstream upstream() {
        return proxy.registry().get("backend");
    }

    private Server server(int id) {
        return upstream().server(id);
    }

    private void awaitState(int id, String state) throws InterruptedException {
        Http.await("server " + id + " " + state + " (is " + server(id).state() + ")", DEADLINE, () -> server(id).state().equals(state));
    }

    /** Sends n requests and counts which backend answered each; 503s count as "503". */
    private Map<String, Integer> spread(int n) throws Exception {
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < n; i++) {
            var r = proxy.get("/");
            seen.merge(r.statusCode() == 200 ? r.body() : String.valueOf(r.statusCode()), 1, Integer::sum);
        }
        return seen;
    }

    @Test
    void failingHealthEndpointTakesServerOutOfTrafficAndPassingOneBringsItBack() throws Exception {
        start(twoServers(), "{\"uri\": \"/health\", \"interval\": \"50ms\", \"timeout\": \"1s\"}");
        Http.await("first checks", DEADLINE, () -> server(1).healthChecks().checks() > 0);

        b.healthStatus = 500;
        awaitState(1, "unhealthy");
        JsonObject shown = new ApiClient(proxy).server("backend", 1);
        assertEquals("unhealthy", shown.get("state").getAsString());
        JsonObject hc = shown.getAsJsonObject("health_checks");
        assertEquals("status 500", hc.get("last_fail_reason").getAsString());
        assertEquals(1, hc.get("unhealthy").getAsInt());
        assertTrue(hc.get("checks").getAsLong() > hc.get("fails").getAsLong(), hc.toString());
        assertTrue(hc.get("last_passed").getAsString().endsWith("Z"), "ISO-8601: " + hc);
        int bHits = b.hits.get();
        assertEquals(Map.of("a", 10), spread(10));
        assertEquals(bHits, b.hits.get(), "no request reached the unhealthy server");

        b.healthStatus = 200;
        awaitState(1, "up");
        assertEquals(Map.of("a", 2, "b", 2), spread(4));
        assertTrue(server(1).healthChecks().lastPassedMillis() > 0);
    }

    @Test
    void serverClosingIdleConnectionsAsChecksArriveIsNotMarkedUnhealthy() throws Exception {
        // The server closes a kept-alive check connection after the same time the checker
        // waits between checks, so checks keep meeting connections that are being closed.
        a.idleTimeout(Duration.ofMillis(50));
        b.idleTimeout(Duration.ofMillis(50));
        start(twoServers(), "{\"uri\": \"/health\", \"interval\": \"50ms\", \"timeout\": \"1s\"}");
        Http.await("40 checks each", DEADLINE, () -> server(0).healthChecks().checks() >= 40 && server(1).healthChecks().checks() >= 40);
        assertEquals(0, server(0).healthChecks().fails() + server(1).healthChecks().fails(),
                "no false failure: " + server(0).healthChecks().lastFailure() + " / " + server(1).healthChecks().lastFailure());
    }

    @Test
    void bodyWithoutExpectedMatchFailsTheCheck() throws Exception {
        a.healthBody = "status: ready";
        b.healthBody = "status: starting";
        start(twoServers(), "{\"uri\": \"/health\", \"expect_body\": \"ready\", \"interval\": \"50ms\"}");
        awaitState(1, "unhealthy");
        assertEquals("body mismatch", server(1).healthChecks().lastFailure());
        assertEquals("up", server(0).state());
        assertNull(server(0).healthChecks().lastFailure());
        assertEquals(Map.of("a", 6), spread(6));
    }

    @Test
    void tcpCheckMarksClosedPortUnhealthy() throws Exception {
        int dead = Backend.deadPort();
        start("{\"server\": \"%s\"}, {\"server\": \"127.0.0.1:%d\"}".formatted(a.address(), dead),
                "{\"type\": \"tcp\", \"interval\": \"50ms\", \"timeout\": \"500ms\"}");
        awaitState(1, "unhealthy");
        assertEquals("connect refused", server(1).healthChecks().lastFailure());
        Http.await("server 0 checked", DEADLINE, () -> server(0).healthChecks().checks() > 2);
        assertEquals("up", server(0).state());
        assertEquals(0, server(0).healthChecks().fails());
        assertEquals(Map.of("a", 6), spread(6));
        assertEquals(0, server(1).stats().requests(), "the dead server was never tried");
    }

    @Test
    void serverThatAcceptsButNeverAnswersTimesOut() throws Exception {
        try (AgentServer hung = AgentServer.start()) {
            hung.silent = true;
            start("{\"server\": \"%s\"}, {\"server\": \"127.0.0.1:%d\"}".formatted(a.address(), hung.port()),
                    "{\"uri\": \"/health\", \"interval\": \"50ms\", \"timeout\": \"100ms\"}");
            awaitState(1, "unhealthy");
            assertEquals("timeout", server(1).healthChecks().lastFailure());
            assertEquals("up", server(0).state());
        }
    }

    @Test
    void agentDrainMaintAndWeightSteerTrafficAndAnUnreachableAgentChangesNothing() throws Exception {
        try (AgentServer agent = AgentServer.start()) {
            agent.line = "drain";
            start("{\"server\": \"%s\", \"weight\": 4}, {\"server\": \"%s\"}".formatted(a.address(), b.address()),
                    "{\"type\": \"agent\", \"port\": %d, \"interval\": \"50ms\", \"timeout\": \"500ms\"}".formatted(agent.port()));
            awaitState(0, "draining");
            awaitState(1, "draining");
            assertFalse(server(0).config().drain(), "the agent's drain is not the operator's");
            assertEquals(Map.of("503", 2), spread(2));

            agent.line = "MAINT # disk full";
            awaitState(0, "unhealthy");
            assertEquals("agent: maint", server(0).healthChecks().lastFailure());
            assertFalse(server(0).config().down());

            agent.line = "up, 50%";
            awaitState(0, "up");
            awaitState(1, "up");
            assertEquals(2 * Endpoint.WEIGHT_SCALE, server(0).effectiveWeight(System.nanoTime()), "50% of 4");
            assertEquals(Endpoint.WEIGHT_SCALE / 2, server(1).effectiveWeight(System.nanoTime()), "50% of 1");
            assertEquals(Map.of("a", 4, "b", 1), spread(5), "the same share for both keeps 4:1");

            agent.close();
            Http.await("agent unreachable", DEADLINE, () -> "connect refused".equals(server(0).healthChecks().lastFailure()));
            assertEquals("up", server(0).state(), "an agent that cannot be reached does not mark the server down");
            assertEquals(Map.of("a", 4, "b", 1), spread(5), "still serving, at the last weight the agent gave");
        }
    }

    @Test
    void httpAgentReadsEachServersOwnLine() throws Exception {
        a.healthBody = "up 50%\n";
        b.healthBody = "drain # deploying\n";
        start("{\"server\": \"%s\", \"weight\": 4}, {\"server\": \"%s\"}".formatted(a.address(), b.address()),
                "{\"type\": \"http-agent\", \"uri\": \"/health\", \"interval\": \"50ms\"}");
        awaitState(1, "draining");
        assertEquals("drain # deploying", server(1).healthChecks().agentReply());
        assertEquals(Map.of("a", 4), spread(4));

        b.healthBody = "ready";
        awaitState(1, "up");
        Http.await("a at 50%", DEADLINE, () -> server(0).agent().weightPercent() == 50);
        int toA = spread(30).getOrDefault("a", 0);
        assertTrue(toA >= 19 && toA <= 21, "a at 50% of 4 against b at 1 is 2:1, about 20 of 30 (4:1 would give 24): " + toA);
    }

    @Test
    void mandatoryServerGetsNoTrafficUntilACheckPasses() throws Exception {
        a.healthStatus = 500;
        start("{\"server\": \"%s\"}".formatted(a.address()), "{\"uri\": \"/health\", \"interval\": \"50ms\", \"mandatory\": true}");
        assertEquals(503, proxy.get("/").statusCode());
        Http.await("first check", DEADLINE, () -> server(0).healthChecks().checks() > 0);
        assertEquals(503, proxy.get("/").statusCode());
        assertEquals(0, a.hits.get());

        a.healthStatus = 200;
        awaitState(0, "up");
        assertEquals(Map.of("a", 2), spread(2));
    }

    @Test
    void addedServerIsCheckedBeforeTrafficAndRemovedServerIsNoLongerChecked() throws Exception {
        start("{\"server\": \"%s\"}".formatted(a.address()), "{\"uri\": \"/health\", \"interval\": \"50ms\", \"mandatory\": true}");
        awaitState(0, "up");

        Server added = upstream().addAtRunTime(1, ServerConfig.of(new HostPort("127.0.0.1", b.port())));
        assertEquals("checking", added.state(), "mandatory: no traffic before its first check");
        awaitState(added.id(), "up");

        upstream().remove(added.id());
        long checksAtRemoval = added.healthChecks().checks();
        long othersAtRemoval = server(0).healthChecks().checks();
        Http.await("five more rounds on the remaining server", DEADLINE, () -> server(0).healthChecks().checks() >= othersAtRemoval + 5);
        assertTrue(added.healthChecks().checks() <= checksAtRemoval + 1,
                "at most the check in flight at removal: " + checksAtRemoval + " -> " + added.healthChecks().checks());
    }
}
