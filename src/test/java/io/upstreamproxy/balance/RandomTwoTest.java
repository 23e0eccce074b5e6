package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RandomTwoTest {
    private static final int PICKS = 60_000;

    @Test
    void idleDistributionFollowsWeights() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(3, 2, 1);
        Balancer<FakeEndpoint> b = Picks.create("random-two", null, list);
        Map<String, Integer> counts = Picks.counts(b, list, PICKS, RequestInfo.NONE);
        assertNear(PICKS * 3 / 6, counts.get("a"));
        assertNear(PICKS * 2 / 6, counts.get("b"));
        assertNear(PICKS / 6, counts.get("c"));
    }

    @Test
    void busyServerWinsOnlyWhenDrawnTwice() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1, 1);
        list.get(0).active = 50;
        Balancer<FakeEndpoint> b = Picks.create("random-two", null, list);
        Map<String, Integer> counts = Picks.counts(b, list, PICKS, RequestInfo.NONE);
        assertNear(PICKS / 16, counts.get("a")); // both draws a: (1/4)^2, against 1/4 for random
        assertNear(PICKS * 5 / 16, counts.get("b"));
    }

    @Test
    void comparesInFlightPerWeight() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(4, 1);
        list.get(0).active = 6; // 1.5 per weight, against b's 2
        list.get(1).active = 2;
        Balancer<FakeEndpoint> b = Picks.create("random-two", null, list);
        Map<String, Integer> counts = Picks.counts(b, list, PICKS, RequestInfo.NONE);
        assertNear(PICKS / 25, counts.get("b")); // only when both draws are b: (1/5)^2
    }

    @Test
    void drawsAServerInSlowStartInProportionToItsEffectiveWeight() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1);
        list.get(1).effective = Endpoint.WEIGHT_SCALE / 4;
        list.get(0).active = 1;
        list.get(1).active = 1; // b's 1 per quarter weight is busier than a's 1 per weight
        Balancer<FakeEndpoint> b = Picks.create("random-two", null, list);
        // b wins only when drawn twice; it is drawn with probability 1/5 (25 against 100).
        Map<String, Integer> counts = Picks.counts(b, list, PICKS, RequestInfo.NONE);
        assertNear(PICKS / 25, counts.get("b"));
    }

    @Test
    void skipsUnusable() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1);
        list.get(2).usable = false;
        Balancer<FakeEndpoint> b = Picks.create("random-two", null, list);
        assertEquals(0, Picks.counts(b, list, 1000, RequestInfo.NONE).get("c"));
    }

    private static void assertNear(int expected, int actual) {
        // 3%, or four standard deviations for the small counts
        double tolerance = Math.max(expected * 0.03, 4 * Math.sqrt(expected));
        assertTrue(Math.abs(expected - actual) <= tolerance, "expected " + expected + " +- " + (int) tolerance + ", got " + actual);
    }
}
