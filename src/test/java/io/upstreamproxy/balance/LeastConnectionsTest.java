package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeastConnectionsTest {

    @Test
    void prefersTheServerWithFewerRequestsInFlight() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1);
        list.get(0).active = 3;
        list.get(1).active = 1;
        list.get(2).active = 2;
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        assertEquals("b b b", Picks.sequence(b, 3));
        list.get(1).active = 5;
        assertEquals("c", Picks.sequence(b, 1));
    }

    @Test
    void comparesInFlightPerWeight() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(4, 1);
        list.get(0).active = 6; // 1.5 per weight
        list.get(1).active = 2; // 2 per weight
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        assertEquals("a", Picks.sequence(b, 1));
        list.get(0).active = 9; // 2.25 per weight
        assertEquals("b", Picks.sequence(b, 1));
    }

    @Test
    void breaksTiesBySmoothWeightedRoundRobin() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(5, 1, 1);
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        assertEquals("a a b a c a a", Picks.sequence(b, 7));
    }

    @Test
    void tieBreakRunsOnlyAmongTheTiedServers() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1);
        list.get(0).active = 2;
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        assertEquals("b c b c", Picks.sequence(b, 4));
    }

    @Test
    void skipsUnusableEvenWhenIdle() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1);
        list.get(1).active = 10;
        list.get(0).usable = false;
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        assertEquals("b b", Picks.sequence(b, 2));
    }

    @Test
    void idleDistributionFollowsWeights() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(3, 2, 1);
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        assertEquals(Map.of("a", 3000, "b", 2000, "c", 1000), Picks.counts(b, list, 6000, RequestInfo.NONE));
    }
}
