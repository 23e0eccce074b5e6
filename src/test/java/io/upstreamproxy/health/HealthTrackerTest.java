package io.upstreamproxy.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.balance.Endpoint;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.upstream.AgentState;
import io.upstreamproxy.upstream.HealthStatus;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class HealthTrackerTest {
    private final ManualClock clock = new ManualClock();
    private final Server server = new Server(0, "backend", ServerConfig.of(new HostPort("127.0.0.1", 9001)).withWeight(4), clock);

    private HealthTracker tracker(int fails, int passes) {
        return new HealthTracker(server, fails, passes, clock);
    }

    private static CheckResult pass() {
        return CheckResult.pass();
    }

    private static CheckResult fail() {
        return CheckResult.fail("status 500");
    }

    @Test
    void becomesUnhealthyOnlyAfterFailsConsecutiveFailures() {
        HealthTracker t = tracker(3, 1);
        t.record(fail());
        t.record(fail());
        assertEquals(HealthStatus.UP, server.health());
        t.record(pass()); // breaks the run
        t.record(fail());
        t.record(fail());
        assertEquals(HealthStatus.UP, server.health());
        t.record(fail());
        assertEquals(HealthStatus.UNHEALTHY, server.health());
        assertEquals("unhealthy", server.state());
        assertFalse(server.isEligible(clock.nanos()));
    }

    @Test
    void becomesHealthyOnlyAfterPassesConsecutivePasses() {
        HealthTracker t = tracker(1, 2);
        t.record(fail());
        assertEquals(HealthStatus.UNHEALTHY, server.health());
        t.record(pass());
        t.record(fail());
        t.record(pass());
        assertEquals(HealthStatus.UNHEALTHY, server.health());
        t.record(pass());
        assertEquals(HealthStatus.UP, server.health());
        assertTrue(server.isEligible(clock.nanos()));
    }

    @Test
    void followsTheDocumentedSequence() {
        HealthTracker t = tracker(2, 2);
        String seen = "";
        for (char c : "FPFFPP".toCharArray()) {
            t.record(c == 'F' ? fail() : pass());
            seen += server.health() == HealthStatus.UP ? "u" : "x";
        }
        assertEquals("uuuxxu", seen);
    }

    @Test
    void mandatoryServerWaitsInCheckingUntilTheFirstPass() {
        server.setHealth(HealthStatus.CHECKING); // as Upstream does for a mandatory check
        assertEquals("checking", server.state());
        assertFalse(server.isEligible(clock.nanos()));
        tracker(3, 3).record(pass());
        assertEquals(HealthStatus.UP, server.health(), "one pass is enough to leave checking");
    }

    @Test
    void mandatoryServerFailingItsFirstCheckIsUnhealthyAtOnce() {
        server.setHealth(HealthStatus.CHECKING);
        HealthTracker t = tracker(3, 2);
        t.record(fail());
        assertEquals(HealthStatus.UNHEALTHY, server.health());
        assertEquals(1, server.healthChecks().unhealthy());
        t.record(pass());
        assertEquals(HealthStatus.UNHEALTHY, server.health(), "from unhealthy it needs passes in a row");
        t.record(pass());
        assertEquals(HealthStatus.UP, server.health());
    }

    @Test
    void countsChecksFailuresAndTransitionsAndKeepsTheLastReason() {
        HealthTracker t = tracker(1, 1);
        t.record(pass());
        long passedAt = clock.wallMillis();
        clock.advance(Duration.ofSeconds(5));
        t.record(CheckResult.fail("connect refused"));
        t.record(CheckResult.fail("timeout"));
        t.record(pass());
        t.record(CheckResult.fail("body mismatch"));
        var hc = server.healthChecks();
        assertEquals(5, hc.checks());
        assertEquals(3, hc.fails());
        assertEquals(2, hc.unhealthy(), "became unhealthy twice");
        assertEquals(passedAt + 5000, hc.lastPassedMillis());
        assertEquals("body mismatch", hc.lastFailure());
        assertEquals(clock.wallMillis(), hc.lastFailedMillis());
    }

    @Test
    void noAnswerIsCountedButMovesNothing() {
        HealthTracker t = tracker(1, 1);
        t.record(CheckResult.noAnswer("connect refused"));
        t.record(CheckResult.noAnswer("timeout"));
        assertEquals(HealthStatus.UP, server.health());
        assertEquals(2, server.healthChecks().fails());
        assertEquals("timeout", server.healthChecks().lastFailure());

        t.record(fail());
        t.record(CheckResult.noAnswer("timeout"));
        assertEquals(HealthStatus.UNHEALTHY, server.health(), "an unreachable agent does not bring it back either");
    }

    @Test
    void agentDrainStopsNewRequestsWithoutTouchingTheOperatorsDrain() {
        HealthTracker t = tracker(1, 1);
        t.record(CheckResult.agent("drain"));
        assertEquals(HealthStatus.UP, server.health());
        assertTrue(server.agent().drain());
        assertFalse(server.config().drain(), "operator intent untouched");
        assertEquals("draining", server.state());
        assertFalse(server.isEligible(clock.nanos()));
        assertEquals("drain", server.healthChecks().agentReply());
    }

    @Test
    void agentStateWordPersistsUntilAnotherArrives() {
        HealthTracker t = tracker(1, 1);
        t.record(CheckResult.agent("drain"));
        t.record(CheckResult.agent("50%"));
        assertTrue(server.agent().drain(), "a reply without a state word keeps drain, as HAProxy");
        t.record(CheckResult.agent("ready"));
        assertFalse(server.agent().drain());
        assertEquals(50, server.agent().weightPercent(), "the weight stays too");
        assertEquals("up", server.state());
    }

    @Test
    void agentMaintFailsTheCheckWithItsWord() {
        HealthTracker t = tracker(1, 1);
        t.record(CheckResult.agent("stopped # out of disk"));
        assertEquals(HealthStatus.UNHEALTHY, server.health());
        assertEquals("agent: stopped", server.healthChecks().lastFailure());
        t.record(CheckResult.agent("75%"));
        assertEquals(HealthStatus.UNHEALTHY, server.health(), "still stopped: no new state word");
        t.record(CheckResult.agent("up"));
        assertEquals(HealthStatus.UP, server.health());
    }

    @Test
    void agentMaintGoesThroughTheFailsThreshold() {
        HealthTracker t = tracker(2, 1);
        t.record(CheckResult.agent("maint"));
        assertEquals(HealthStatus.UP, server.health());
        t.record(CheckResult.agent("maint"));
        assertEquals(HealthStatus.UNHEALTHY, server.health());
    }

    @Test
    void agentWeightScalesTheConfiguredWeight() {
        HealthTracker t = tracker(1, 1);
        int full = 4 * Endpoint.WEIGHT_SCALE;
        t.record(CheckResult.agent("50%"));
        assertEquals(full / 2, server.effectiveWeight(clock.nanos()), "50% of 4");
        assertEquals(4, server.weight(), "the configured weight stays");
        t.record(CheckResult.agent("weight:10%"));
        assertEquals(full / 10, server.effectiveWeight(clock.nanos()));
        t.record(CheckResult.agent("200%"));
        assertEquals(full * 2, server.effectiveWeight(clock.nanos()));
        t.record(CheckResult.agent("100000%"));
        assertEquals(ServerConfig.MAX_WEIGHT * Endpoint.WEIGHT_SCALE, server.effectiveWeight(clock.nanos()),
                "never above the largest weight one could configure");
        t.record(CheckResult.agent("0%"));
        assertFalse(server.isEligible(clock.nanos()), "0% takes no new requests");
        assertEquals("draining", server.state());
    }

    @Test
    void agentWeightAndSlowStartMultiply() {
        server.update(server.config().withSlowStart(Duration.ofSeconds(10)).withDrain(true));
        server.update(server.config().withDrain(false)); // back in service: ramps over 10 s
        tracker(1, 1).record(CheckResult.agent("50%"));
        clock.advance(Duration.ofSeconds(5));
        assertEquals(4 * Endpoint.WEIGHT_SCALE / 2 / 2, server.effectiveWeight(clock.nanos()), "half of 50% of 4, half way up");
    }

    @Test
    void agentMaxconnLimitsRequestsInFlight() {
        HealthTracker t = tracker(1, 1);
        t.record(CheckResult.agent("maxconn:1"));
        assertTrue(server.isEligible(clock.nanos()));
        server.onRequestStart();
        assertFalse(server.isEligible(clock.nanos()), "one in flight, agent allows one");
        t.record(CheckResult.agent("maxconn:0"));
        assertTrue(server.isEligible(clock.nanos()), "0 lifts the agent's limit");
    }

    @Test
    void operatorsDrainAndDownWinOverTheAgentAndTheCheck() {
        HealthTracker t = tracker(1, 1);
        t.record(CheckResult.agent("ready"));
        server.update(server.config().withDrain(true));
        assertEquals("draining", server.state());
        assertFalse(server.isEligible(clock.nanos()), "agent ready does not undo the operator's drain");
        server.update(server.config().withDrain(false).withDown(true));
        t.record(fail());
        assertEquals("down", server.state(), "operator's down shows before unhealthy");
    }

    @Test
    void aServerWithoutChecksHasNoAgentAndNoRecord() {
        assertEquals(AgentState.NONE, server.agent());
        assertEquals(0, server.healthChecks().checks());
        assertNull(server.healthChecks().lastFailure());
        assertEquals(4 * Endpoint.WEIGHT_SCALE, server.effectiveWeight(clock.nanos()));
    }
}
