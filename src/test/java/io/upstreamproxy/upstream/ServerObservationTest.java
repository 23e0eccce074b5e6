package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Latency, bytes, downtime and what observers hear, with a clock moved by hand. */
class ServerObservationTest {
    private static final long MS = 1_000_000;
    private final ManualClock clock = new ManualClock();
    private final List<String> heard = new ArrayList<>();
    private final ServerObserver recorder = new ServerObserver() {
        @Override
        public void added(Server s) {
            heard.add("added " + s.id());
        }

        @Override
        public void removed(Server s) {
            heard.add("removed " + s.id());
        }

        @Override
        public void responded(Server s, int status, long headerNanos, long responseNanos) {
            heard.add("responded " + status + " " + headerNanos / MS + "/" + responseNanos / MS);
        }

        @Override
        public void failed(Server s, String reason) {
            heard.add("failed " + reason);
        }

        @Override
        public void leftRotation(Server s, String why) {
            heard.add("left: " + why);
        }

        @Override
        public void joinedRotation(Server s, String why) {
            heard.add("joined: " + why);
        }
    };

    private Server server(ServerConfig c) {
        Server s = new Server(0, "backend", c, clock);
        s.observe(recorder);
        return s;
    }

    private static ServerConfig config() {
        return ServerConfig.of(new HostPort("127.0.0.1", 9001));
    }

    @Test
    void averagesRecentResponseAndHeaderTimes() {
        Server s = server(config());
        assertFalse(s.stats().responseTime().hasSamples());
        s.onRequestStart();
        s.onResponse(200, 40 * MS, 80 * MS, 10, 100);
        assertEquals(80 * MS, s.stats().responseTime().nanos(), "the first sample is the average");
        assertEquals(40 * MS, s.headerNanos());
        s.onRequestStart();
        s.onResponse(200, 0, 0, 0, 0);
        assertEquals(70 * MS, s.stats().responseTime().nanos(), "each sample moves it 1/8 of the way");
        assertEquals(35 * MS, s.stats().headerTime().nanos());
        assertEquals(List.of("responded 200 40/80", "responded 200 0/0"), heard);
    }

    @Test
    void balancersSeeAnOldHeaderTimeHalvedEveryTenSeconds() {
        Server s = server(config());
        s.onRequestStart();
        s.onResponse(200, 80 * MS, 90 * MS, 0, 0);
        assertEquals(80 * MS, s.headerNanos());
        clock.advance(Duration.ofSeconds(10));
        assertEquals(40 * MS, s.headerNanos());
        clock.advance(Duration.ofSeconds(25));
        assertEquals(10 * MS, s.headerNanos());
        assertEquals(80 * MS, s.stats().headerTime().nanos(), "the API shows the average itself");
    }

    @Test
    void countsBodyBytesBothWays() {
        Server s = server(config());
        s.onRequestStart();
        s.onResponse(200, MS, MS, 300, 5000);
        s.onRequestStart();
        s.onResponse(404, MS, MS, 0, 20);
        assertEquals(300, s.stats().sent());
        assertEquals(5020, s.stats().received());
        assertEquals(2, s.stats().responsesTotal());
    }

    @Test
    void passiveUnavailabilityCountsAsDowntimeUntilFailTimeoutEnds() {
        Server s = server(config().withMaxFails(2).withFailTimeout(Duration.ofSeconds(10)));
        s.onRequestStart();
        s.onFailure("connect refused");
        assertEquals(0, s.downstartMillis(), "one failure of two: still in rotation");
        s.onRequestStart();
        s.onFailure("connect refused");
        assertEquals(clock.wallMillis(), s.downstartMillis());
        clock.advance(Duration.ofSeconds(4));
        assertEquals(4000, s.downtimeMillis(), "the current spell counts while it lasts");
        clock.advance(Duration.ofSeconds(30));
        assertEquals(10_000, s.downtimeMillis(), "it came back when fail_timeout ended, not when someone looked");
        assertEquals(0, s.downstartMillis());
        assertEquals(List.of("failed connect refused", "failed connect refused",
                "left: 2 failure(s) within fail_timeout 10s, last: connect refused; unavailable for 10s",
                "joined: fail_timeout over"), heard);
    }

    @Test
    void unhealthySpellsAddUp() {
        Server s = server(config());
        s.setHealth(HealthStatus.UNHEALTHY, "status 500");
        clock.advance(Duration.ofSeconds(3));
        s.setHealth(HealthStatus.UP, null);
        clock.advance(Duration.ofSeconds(100));
        s.setHealth(HealthStatus.UNHEALTHY, "timeout");
        clock.advance(Duration.ofSeconds(2));
        assertEquals(5000, s.downtimeMillis());
        assertTrue(s.downstartMillis() != 0);
        assertEquals(List.of("left: health check failed (status 500)", "joined: health check passed",
                "left: health check failed (timeout)"), heard);
    }

    @Test
    void operatorDrainIsNotDowntime() {
        Server s = server(config());
        s.update(config().withDrain(true));
        clock.advance(Duration.ofSeconds(5));
        assertEquals(0, s.downtimeMillis());
        assertEquals(List.of(), heard);
    }

    @Test
    void upstreamTellsObserversOfAddedAndRemovedServers() {
        Upstream u = UpstreamRegistry.create(
                io.upstreamproxy.config.ConfigLoader.parse("{\"upstreams\": {\"b\": {\"servers\": [{\"server\": \"127.0.0.1:9001\"}]}}}", null),
                clock).get("b");
        u.observe(recorder);
        u.addAtRunTime(1, ServerConfig.of(new HostPort("127.0.0.1", 9002)));
        u.remove(0);
        assertEquals(List.of("added 0", "added 1", "removed 0"), heard);
    }

    @Test
    void aReloadTellsObserversOfServersAndUpstreamsThatCameAndWent() {
        var before = io.upstreamproxy.config.ConfigLoader.parse("""
                {"upstreams": {"b": {"servers": [{"server": "127.0.0.1:9001"}, {"server": "127.0.0.1:9002"}]},
                               "gone": {"servers": [{"server": "127.0.0.1:9005"}]}},
                 "routes": [{"path": "/", "upstream": "b"}]}""", null);
        UpstreamRegistry registry = UpstreamRegistry.create(before, clock);
        registry.observe(recorder);
        heard.clear();
        var after = io.upstreamproxy.config.ConfigLoader.parse("""
                {"upstreams": {"b": {"servers": [{"server": "127.0.0.1:9001"}, {"server": "127.0.0.1:9003"}]},
                               "new": {"servers": [{"server": "127.0.0.1:9007"}]}},
                 "routes": [{"path": "/", "upstream": "b"}]}""", null);
        registry.layOut(after.upstreams().values(), io.upstreamproxy.state.StateMerge.merge(after, null).servers(), false);
        assertEquals(List.of("removed 1", "added 1", "added 0", "removed 0"), heard,
                "b's server 1 changed address (removed, then the new one added), new's server joined, gone's server left");
        assertEquals("127.0.0.1:9003", registry.get("b").server(1).address().toString());
    }
}
