package io.upstreamproxy.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.testing.ManualClock;
import io.upstreamproxy.testing.ManualScheduler;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The checker's schedule and thresholds with time moved by hand: no threads, no sockets, no sleeping. */
class HealthCheckerScheduleTest {
    private static final Duration STEP = Duration.ofMillis(1);
    private final ManualClock clock = new ManualClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    /** Every check: which port, when (clock nanos). */
    private final List<long[]> checks = new ArrayList<>();
    /** Ports whose checks fail. */
    private final Map<Integer, Boolean> failing = new ConcurrentHashMap<>();
    private HealthChecker checker;

    private final Probe probe = target -> {
        checks.add(new long[] {target.port(), clock.nanos()});
        return CompletableFuture.completedFuture(failing.getOrDefault(target.port(), false)
                ? CheckResult.fail("status 500") : CheckResult.pass());
    };

    private Upstream start(int servers, String check) {
        StringBuilder list = new StringBuilder();
        for (int i = 0; i < servers; i++) {
            list.append(i == 0 ? "" : ", ").append("{\"server\": \"127.0.0.1:").append(9001 + i).append("\"}");
        }
        UpstreamRegistry registry = UpstreamRegistry.create(ConfigLoader.parse("{\"upstreams\": {\"b\": {\"servers\": [" + list
                + "], \"health_check\": " + check + "}}}", null), clock);
        checker = HealthChecker.start(registry, scheduler, c -> probe, new SplittableRandom(7));
        return registry.get("b");
    }

    @AfterEach
    void stop() {
        if (checker != null) {
            checker.close();
        }
    }

    private List<Long> firstCheckTimes(int servers) {
        List<Long> times = new ArrayList<>();
        for (int port = 9001; port < 9001 + servers; port++) {
            int p = port;
            times.add(checks.stream().filter(c -> c[0] == p).mapToLong(c -> c[1]).min().orElseThrow());
        }
        return times;
    }

    @Test
    void spreadsServersEvenlyOverTheIntervalAndKeepsTheirPhase() {
        long start = clock.nanos();
        start(4, "{\"interval\": \"1s\"}");
        scheduler.advance(Duration.ofMillis(1750), STEP); // a random phase below 1 s, then offsets 0 to 750 ms
        List<Long> first = firstCheckTimes(4);
        for (int i = 1; i < 4; i++) {
            assertEquals(250, (first.get(i) - first.get(i - 1)) / 1_000_000, "250 ms apart: " + first);
        }
        assertTrue(first.get(0) - start < 1_000_000_000L, "the upstream's phase is below one interval");
        scheduler.advance(Duration.ofSeconds(3), STEP);
        for (int port = 9001; port <= 9004; port++) {
            int p = port;
            List<Long> mine = checks.stream().filter(c -> c[0] == p).map(c -> c[1]).toList();
            for (int i = 1; i < mine.size(); i++) {
                assertEquals(1000, (mine.get(i) - mine.get(i - 1)) / 1_000_000, "every second, on its own phase: " + mine);
            }
        }
    }

    @Test
    void fallsAfterFailsConsecutiveFailuresAndRisesAfterPasses() {
        Upstream u = start(2, "{\"interval\": \"1s\", \"fails\": 3, \"passes\": 2}");
        Server s = u.server(0);
        scheduler.advance(Duration.ofMillis(1600), STEP); // past both servers' first check, whatever the phase
        assertEquals("up", s.state());
        failing.put(9001, true);
        scheduler.advance(Duration.ofSeconds(2), STEP);
        assertEquals("up", s.state(), "two failures of three");
        scheduler.advance(Duration.ofSeconds(1), STEP);
        assertEquals("unhealthy", s.state());
        assertEquals("up", u.server(1).state(), "the other server is not affected");
        failing.put(9001, false);
        scheduler.advance(Duration.ofSeconds(1), STEP);
        assertEquals("unhealthy", s.state(), "one pass of two");
        scheduler.advance(Duration.ofSeconds(1), STEP);
        assertEquals("up", s.state());
        assertEquals(3, s.healthChecks().fails());
        assertTrue(s.downtimeMillis() >= 1900 && s.downtimeMillis() <= 2100, "out between the third failure and the second pass: " + s.downtimeMillis());
    }

    @Test
    void checksAServerAddedAtRunTimeAtOnce() {
        Upstream u = start(1, "{\"interval\": \"10s\"}");
        scheduler.advance(Duration.ofSeconds(10), STEP);
        long added = clock.nanos();
        u.addAtRunTime(1, ServerConfig.of(new HostPort("127.0.0.1", 9002)));
        scheduler.advance(Duration.ofMillis(300), STEP);
        long firstOfAdded = checks.stream().filter(c -> c[0] == 9002).mapToLong(c -> c[1]).min().orElseThrow();
        assertTrue(firstOfAdded - added <= HealthChecker.SYNC_MILLIS * 1_000_000 + 1_000_000,
                "within one sync of being added, not after a random phase: " + (firstOfAdded - added) / 1_000_000 + " ms");
    }
}
