package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeastTimeTest {
    private static final int PICKS = 20_000;
    private static final long MS = 1_000_000;

    private static Map<String, Integer> counts(List<FakeEndpoint> list) {
        return Picks.counts(Picks.create("least-time", null, list), list, PICKS, RequestInfo.NONE);
    }

    @Test
    void idleFasterServerGetsEveryRequest() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1);
        list.get(0).headerNanos = 10 * MS;
        list.get(1).headerNanos = 2 * MS;
        assertEquals(Map.of("a", 0, "b", PICKS), counts(list), "two different endpoints are compared on every pick");
    }

    @Test
    void inFlightRequestsWeighTheTime() {
        // a: 4 x 2 ms = 8 against b: 1 x 10 ms = 10, so a; one more in flight on a (10 vs 10) ties to b.
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1);
        list.get(0).headerNanos = 2 * MS;
        list.get(0).active = 3;
        list.get(1).headerNanos = 10 * MS;
        assertEquals(Map.of("a", PICKS, "b", 0), counts(list));
        list.get(0).active = 5;
        assertEquals(Map.of("a", 0, "b", PICKS), counts(list));
    }

    @Test
    void unmeasuredServerIsTriedAtOnce() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1);
        list.get(0).headerNanos = MS;
        list.get(1).headerNanos = MS;
        Map<String, Integer> c = counts(list);
        // c wins whenever it is one of the two drawn: 2 of the 3 pairs
        assertTrue(c.get("c") > PICKS * 0.6, c.toString());
    }

    @Test
    void weightDividesTheCost() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(4, 1);
        list.get(0).headerNanos = 6 * MS; // 6 / 4 = 1.5 per weight, against b's 2
        list.get(1).headerNanos = 2 * MS;
        assertEquals(Map.of("a", PICKS, "b", 0), counts(list));
    }

    @Test
    void serverInSlowStartIsDrawnLessAndCostsMore() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1, 1);
        for (FakeEndpoint e : list) {
            e.headerNanos = MS;
        }
        list.get(3).effective = Endpoint.WEIGHT_SCALE / 10; // a tenth into its ramp: 10x the cost of its peers
        Map<String, Integer> c = counts(list);
        assertEquals(0, c.get("d"), "it loses every comparison while ramping: " + c);
        list.get(3).effective = -1; // ramp over
        assertTrue(counts(list).get("d") > PICKS / 8, "back to its share");
    }

    @Test
    void skipsUnusableAndReturnsNullWhenNoneIs() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1);
        list.get(1).headerNanos = MS;
        list.get(0).headerNanos = 9 * MS;
        list.get(2).headerNanos = 9 * MS;
        list.get(1).usable = false;
        Map<String, Integer> c = counts(list);
        assertEquals(0, c.get("b"));
        for (FakeEndpoint e : list) {
            e.usable = false;
        }
        assertEquals(null, Picks.create("least-time", null, list).pick(RequestInfo.NONE, FakeEndpoint.USABLE));
    }
}
