package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ServerTest {
    private final ManualClock clock = new ManualClock();

    private Server server(ServerConfig c) {
        return new Server(0, "backend", c, clock);
    }

    private static ServerConfig config() {
        return ServerConfig.of(new HostPort("127.0.0.1", 9001));
    }

    private void fail(Server s, int times) {
        for (int i = 0; i < times; i++) {
            s.onRequestStart();
            s.onFailure();
        }
    }

    @Test
    void keepsItsAddressThroughEveryUpdate() {
        Server s = server(config());
        s.update(config().withWeight(3));
        assertEquals("127.0.0.1:9001", s.key());
        assertThrows(IllegalArgumentException.class, () -> s.update(ServerConfig.of(new HostPort("127.0.0.1", 9002))));
        assertEquals("127.0.0.1:9001", s.key());
        assertEquals(3, s.config().weight(), "a refused update changes nothing");
    }

    @Test
    void newServerIsUpAndEligible() {
        Server s = server(config());
        assertTrue(s.isEligible(clock.nanos()));
        assertEquals("up", s.state());
    }

    @Test
    void skipsDownAndDrainedServers() {
        Server s = server(config().withDown(true));
        assertFalse(s.isEligible(clock.nanos()));
        assertEquals("down", s.state());
        s.update(config().withDrain(true));
        assertFalse(s.isEligible(clock.nanos()));
        assertEquals("draining", s.state());
    }

    @Test
    void maxConnsCapsInFlightRequests() {
        Server s = server(config().withMaxConns(2));
        s.onRequestStart();
        assertTrue(s.isEligible(clock.nanos()));
        s.onRequestStart();
        assertFalse(s.isEligible(clock.nanos()));
        s.onResponse(200);
        assertTrue(s.isEligible(clock.nanos()));
        assertEquals(1, s.stats().active());
    }

    @Test
    void maxFailsWithinFailTimeoutMakesItUnavailableForFailTimeout() {
        Server s = server(config().withMaxFails(2).withFailTimeout(Duration.ofSeconds(10)));
        fail(s, 1);
        assertTrue(s.isEligible(clock.nanos()));
        clock.advance(Duration.ofSeconds(3));
        fail(s, 1);
        assertFalse(s.isEligible(clock.nanos()));
        assertEquals("unavail", s.state());
        assertEquals(1, s.stats().unavail());
        assertEquals(2, s.stats().fails());
        clock.advance(Duration.ofMillis(9_999));
        assertFalse(s.isEligible(clock.nanos()));
        clock.advance(Duration.ofMillis(2));
        assertTrue(s.isEligible(clock.nanos()));
        assertEquals("up", s.state());
    }

    @Test
    void failuresSpreadWiderThanFailTimeoutDoNotTrip() {
        Server s = server(config().withMaxFails(2).withFailTimeout(Duration.ofSeconds(10)));
        fail(s, 1);
        clock.advance(Duration.ofSeconds(11));
        fail(s, 1);
        assertTrue(s.isEligible(clock.nanos()));
        assertEquals(0, s.stats().unavail());
    }

    @Test
    void oneFailureAfterTheWindowTripsAgainUntilASuccess() {
        Server s = server(config().withMaxFails(3).withFailTimeout(Duration.ofSeconds(5)));
        fail(s, 3);
        clock.advance(Duration.ofSeconds(6));
        assertTrue(s.isEligible(clock.nanos()));
        fail(s, 1);
        assertFalse(s.isEligible(clock.nanos()), "nginx: a failing server is retried once, then benched again");
        clock.advance(Duration.ofSeconds(6));
        s.onRequestStart();
        s.onResponse(200);
        fail(s, 2);
        assertTrue(s.isEligible(clock.nanos()), "a success resets the count");
        assertEquals(2, s.stats().unavail());
    }

    @Test
    void maxFailsZeroNeverMarksUnavailable() {
        Server s = server(config().withMaxFails(0));
        fail(s, 50);
        assertTrue(s.isEligible(clock.nanos()));
        assertEquals(50, s.stats().fails());
    }

    @Test
    void countsResponsesByClass() {
        Server s = server(config());
        for (int status : new int[] {200, 204, 301, 404, 503, 101}) {
            s.onRequestStart();
            s.onResponse(status);
        }
        assertEquals(6, s.stats().requests());
        assertEquals(2, s.stats().responses(2));
        assertEquals(1, s.stats().responses(1));
        assertEquals(1, s.stats().responses(5));
        assertEquals(6, s.stats().responsesTotal());
        assertEquals(0, s.stats().active());
        assertEquals(clock.wallMillis(), s.stats().selectedMillis());
    }

    @Test
    void healthVerdictGatesTraffic() {
        Server s = server(config());
        s.setHealth(HealthStatus.CHECKING);
        assertFalse(s.isEligible(clock.nanos()));
        assertEquals("checking", s.state());
        s.setHealth(HealthStatus.UNHEALTHY);
        assertEquals("unhealthy", s.state());
        s.update(config().withDrain(true));
        assertEquals("draining", s.state(), "operator intent shows before the check's verdict");
    }
}
