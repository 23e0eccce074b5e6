package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.balance.Endpoint;
import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.state.MemoryStateStore;
import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SlowStartTest {
    private static final int FULL = 2 * Endpoint.WEIGHT_SCALE;
    private final ManualClock clock = new ManualClock();

    private Server server() {
        ServerConfig c = ServerConfig.of(HostPort.parse("127.0.0.1:9001")).withWeight(2).withSlowStart(Duration.ofSeconds(10));
        return new Server(0, "backend", c, clock);
    }

    private int weightAfter(Server s, Duration d) {
        clock.advance(d);
        return s.effectiveWeight(clock.nanos());
    }

    @Test
    void serverOfTheStartUpConfigDoesNotRamp() {
        assertEquals(FULL, server().effectiveWeight(clock.nanos()));
    }

    @Test
    void undrainedServerRampsLinearlyFromAlmostNothingToFull() {
        Server s = server();
        s.update(s.config().withDrain(true));
        clock.advance(Duration.ofMinutes(5));
        s.update(s.config().withDrain(false));
        assertEquals(1, s.effectiveWeight(clock.nanos()));
        assertEquals(FULL / 10, weightAfter(s, Duration.ofSeconds(1)));
        assertEquals(FULL / 2, weightAfter(s, Duration.ofSeconds(4)));
        assertEquals(FULL * 9 / 10, weightAfter(s, Duration.ofSeconds(4)));
        assertEquals(FULL, weightAfter(s, Duration.ofSeconds(1)));
        assertEquals(FULL, weightAfter(s, Duration.ofDays(3)));
    }

    @Test
    void serverSetUpAgainRamps() {
        Server s = server();
        s.update(s.config().withDown(true));
        s.update(s.config().withDown(false));
        assertEquals(FULL / 2, weightAfter(s, Duration.ofSeconds(5)));
    }

    @Test
    void otherChangesDoNotRestartTheRamp() {
        Server s = server();
        s.update(s.config().withMaxConns(10));
        assertEquals(FULL, s.effectiveWeight(clock.nanos()));
    }

    @Test
    void serverHealthyAgainRampsButTheFirstCheckAtStartUpDoesNot() {
        Server s = server();
        s.setHealth(HealthStatus.CHECKING);
        s.setHealth(HealthStatus.UP);
        assertEquals(FULL, s.effectiveWeight(clock.nanos()), "first check passed at start-up");
        s.setHealth(HealthStatus.UNHEALTHY);
        clock.advance(Duration.ofSeconds(30));
        s.setHealth(HealthStatus.UP);
        assertEquals(FULL / 5, weightAfter(s, Duration.ofSeconds(2)));
        clock.advance(Duration.ofSeconds(30));
        s.setHealth(HealthStatus.CHECKING);
        s.setHealth(HealthStatus.UP);
        assertEquals(FULL / 5, weightAfter(s, Duration.ofSeconds(2)), "up again through checking");
    }

    @Test
    void serverBackFromPassiveFailureRampsFromTheEndOfFailTimeout() {
        Server s = new Server(0, "backend", server().config().withMaxFails(1).withFailTimeout(Duration.ofSeconds(30)), clock);
        s.onRequestStart();
        s.onFailure();
        assertTrue(s.isUnavailable(clock.nanos()));
        clock.advance(Duration.ofSeconds(30));
        assertTrue(s.isEligible(clock.nanos()));
        assertEquals(FULL / 10, weightAfter(s, Duration.ofSeconds(1)));
    }

    @Test
    void zeroSlowStartMeansFullWeightAtOnce() {
        Server s = new Server(0, "backend", server().config().withSlowStart(Duration.ZERO), clock);
        s.update(s.config().withDrain(true));
        s.update(s.config().withDrain(false));
        assertEquals(FULL, s.effectiveWeight(clock.nanos()));
    }

    @Test
    void serverAddedAtRunTimeGetsAGrowingShareOfRoundRobin() {
        Upstream u = upstream("round-robin", "{ \"server\": \"127.0.0.1:9001\" }");
        Server added = u.addAtRunTime(1, ServerConfig.of(HostPort.parse("127.0.0.1:9002")).withSlowStart(Duration.ofSeconds(10)));
        assertEquals(Map.of("127.0.0.1:9001", 990, "127.0.0.1:9002", 10), picks(u, 1000), "1/100 of a weight at first");
        clock.advance(Duration.ofSeconds(5));
        assertEquals(Map.of("127.0.0.1:9001", 667, "127.0.0.1:9002", 333), picks(u, 1000), "half its weight halfway");
        clock.advance(Duration.ofSeconds(5));
        assertEquals(Map.of("127.0.0.1:9001", 500, "127.0.0.1:9002", 500), picks(u, 1000));
        assertEquals(FULL / 2, added.effectiveWeight(clock.nanos()));
    }

    @Test
    void serverAddedThroughTheApiRampsButRestoredOnesDoNot() {
        ProxyConfig config = ConfigLoader.parse("{\"upstreams\": {\"backend\": {\"servers\": [{\"server\": \"127.0.0.1:9001\", \"slow_start\": \"10s\"}]}}}", null);
        MemoryStateStore store = new MemoryStateStore();
        ChangeApplier changes = ChangeApplier.restore(UpstreamRegistry.create(config, clock), config, store);
        Server added = changes.apply(new Change.AddServer("backend",
                ServerConfig.of(HostPort.parse("127.0.0.1:9002")).withSlowStart(Duration.ofSeconds(10))));
        assertEquals(1, added.effectiveWeight(clock.nanos()));
        assertEquals(Endpoint.WEIGHT_SCALE, changes.registry().get("backend").server(0).effectiveWeight(clock.nanos()));

        // After a restart the added server comes back from the state file at full weight.
        UpstreamRegistry restarted = UpstreamRegistry.create(config, clock);
        ChangeApplier.restore(restarted, config, store);
        assertEquals(Endpoint.WEIGHT_SCALE, restarted.get("backend").server(added.id()).effectiveWeight(clock.nanos()));
    }

    @Test
    void weightChangeReachesTheHashRing() {
        Upstream u = upstream("consistent-hash\", \"hash_key\": \"path",
                "{ \"server\": \"127.0.0.1:9001\" }, { \"server\": \"127.0.0.1:9002\" }");
        Map<String, Integer> before = pathPicks(u);
        Server heavy = u.servers().get(1);
        heavy.update(heavy.config().withWeight(9));
        Map<String, Integer> after = pathPicks(u);
        assertTrue(after.get("127.0.0.1:9002") > before.get("127.0.0.1:9002") + 2000, before + " then " + after);
    }

    private Upstream upstream(String balancer, String servers) {
        ProxyConfig c = ConfigLoader.parse("{\"upstreams\": {\"backend\": {\"balancer\": \"" + balancer + "\", \"servers\": [" + servers + "]}}}", null);
        return UpstreamRegistry.create(c, clock).get("backend");
    }

    private static Map<String, Integer> picks(Upstream u, int n) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            counts.merge(u.pick(RequestInfo.NONE, s -> false).key(), 1, Integer::sum);
        }
        return counts;
    }

    private static Map<String, Integer> pathPicks(Upstream u) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 10_000; i++) {
            String path = "/k" + i;
            counts.merge(u.pick(new RequestInfo() {
                @Override
                public String path() {
                    return path;
                }
            }, s -> false).key(), 1, Integer::sum);
        }
        return counts;
    }
}
