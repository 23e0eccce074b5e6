package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.state.MemoryStateStore;
import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutlierDetectorTest {
    private final ManualClock clock = new ManualClock();
    private final List<String> log = new ArrayList<>();

    private static String config(String outliers, int servers) {
        StringBuilder list = new StringBuilder();
        for (int i = 1; i <= servers; i++) {
            list.append(i == 1 ? "" : ", ").append("{'server': '127.0.0.1:").append(i).append("', 'max_fails': 0}");
        }
        return ("{'upstreams': {'app': {" + (outliers == null ? "" : "'outlier_detection': " + outliers + ", ")
                + "'servers': [" + list + "]}}}").replace('\'', '"');
    }

    private Upstream upstream(String outliers, int servers) {
        Upstream u = UpstreamRegistry.create(ConfigLoader.parse(config(outliers, servers), null), clock).get("app");
        u.observe(new ServerObserver() {
            @Override
            public void leftRotation(Server s, String why) {
                log.add(s.id() + " out: " + why);
            }

            @Override
            public void joinedRotation(Server s, String why) {
                log.add(s.id() + " in: " + why);
            }
        });
        return u;
    }

    private static void answer(Server s, int status, int times) {
        for (int i = 0; i < times; i++) {
            s.tryLease().responded(status);
        }
    }

    @Test
    void consecutiveErrorsEjectAndAnySuccessResetsTheRun() {
        Upstream u = upstream("{'consecutive_errors': 3}", 4);
        Server s = u.server(0);
        answer(s, 503, 2);
        answer(s, 200, 1);
        answer(s, 503, 1);
        s.tryLease().failed("connect failed: Connection refused");
        assertFalse(s.ejection().isEjected(clock.nanos()), "only 2 in a row before the success");
        answer(s, 500, 1); // not in the list: a success
        answer(s, 502, 3);
        assertEquals("ejected", s.state());
        assertEquals("3 consecutive 502", s.ejection().reason());
        assertEquals(List.of("0 out: ejected for 30s: 3 consecutive 502"), log);
        assertEquals(clock.wallMillis() + 30_000, s.ejection().untilMillis());
        for (int i = 0; i < 20; i++) {
            assertTrue(u.pick(RequestInfo.NONE, x -> false) != s, "ejected servers take no new requests");
        }
    }

    @Test
    void mixedErrorsSayWhatTheLastWas() {
        Upstream u = upstream("{'consecutive_errors': 2}", 2);
        Server s = u.server(0);
        answer(s, 503, 1);
        s.tryLease().failed("timeout");
        assertEquals("2 consecutive errors", s.ejection().reason());
    }

    @Test
    void ejectionEndsByItselfAndGrowsWithEachEjectionThenDecays() {
        Upstream u = upstream("{'consecutive_errors': 1, 'interval': '10s', 'base_ejection_time': '30s'}", 2);
        Server s = u.server(0);
        answer(s, 503, 1);
        clock.advance(Duration.ofSeconds(29));
        assertTrue(s.ejection().isEjected(clock.nanos()));
        clock.advance(Duration.ofSeconds(1));
        assertEquals("up", s.state(), "back exactly at its time");
        u.outliers().sweepIfDue();
        assertEquals("0 in: ejection over: its time is up", log.get(1));
        answer(s, 503, 1);
        assertEquals("0 out: ejected for 1m: 1 consecutive 503", log.get(2), "second ejection: base × 2");
        clock.advance(Duration.ofSeconds(60));
        u.outliers().sweepIfDue(); // ends it; its ejection count is not forgiven for an interval it was ejected in
        for (int i = 0; i < 2; i++) { // two intervals in rotation without an error: two ejections forgiven
            clock.advance(Duration.ofSeconds(10));
            answer(s, 200, 1);
        }
        answer(s, 503, 1);
        assertEquals("0 out: ejected for 30s: 1 consecutive 503", log.get(log.size() - 1));
    }

    @Test
    void ejectionTimeIsCappedAtFiveMinutesOrTheBase() {
        assertEquals(Duration.ofMinutes(5), ConfigLoader.parse(config("{'base_ejection_time': '2m'}", 1), null)
                .upstreams().get("app").outlierDetection().ejectionTime(4));
        assertEquals(Duration.ofMinutes(10), ConfigLoader.parse(config("{'base_ejection_time': '10m'}", 1), null)
                .upstreams().get("app").outlierDetection().ejectionTime(3));
    }

    @Test
    void neverEjectsMoreThanMaxEjectionPercent() {
        Upstream u = upstream("{'consecutive_errors': 2, 'max_ejection_percent': 50}", 4);
        for (int i = 0; i < 3; i++) {
            answer(u.server(i), 503, 5);
        }
        long ejected = u.servers().stream().filter(s -> s.ejection().isEjected(clock.nanos())).count();
        assertEquals(2, ejected, "3 of 4 failing at 50 %: exactly 2 ejected");
        assertEquals("up", u.server(2).state());
        clock.advance(Duration.ofSeconds(30));
        answer(u.server(2), 503, 1); // the others are back: its next error ejects it
        assertEquals("ejected", u.server(2).state());
    }

    @Test
    void aSingleServerIsNotEjectedBelowOneHundredPercent() {
        Upstream u = upstream("{'consecutive_errors': 1, 'max_ejection_percent': 99}", 1);
        answer(u.server(0), 503, 3);
        assertEquals("up", u.server(0).state());
    }

    @Test
    void aPassingHealthCheckEndsTheEjection() {
        Upstream u = upstream("{'consecutive_errors': 1}", 2);
        Server s = u.server(0);
        answer(s, 504, 1);
        s.healthCheckPassed();
        assertEquals("up", s.state());
        assertNull(s.ejection().reason());
        assertEquals("0 in: ejection over: health check passed", log.get(1));
    }

    @Test
    void withoutOutlierDetectionNothingIsCounted() {
        Upstream u = upstream(null, 2);
        answer(u.server(0), 503, 50);
        assertEquals("up", u.server(0).state());
        assertEquals(0, u.server(0).ejection().total());
    }

    @Test
    void aReloadThatTurnsItOffEndsEjections() {
        UpstreamRegistry registry = UpstreamRegistry.empty(clock);
        ChangeApplier changes = ChangeApplier.restore(registry, ConfigLoader.parse(config("{'consecutive_errors': 1}", 2), null),
                new MemoryStateStore());
        Server s = registry.get("app").server(0);
        answer(s, 503, 1);
        assertEquals("ejected", s.state());
        changes.reload(ConfigLoader.parse(config(null, 2), null));
        assertEquals("up", s.state());
    }
}
