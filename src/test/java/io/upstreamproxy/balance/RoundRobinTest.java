package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoundRobinTest {

    @Test
    void smoothWeightedSpreadsTheHeavyServer() {
        Balancer<FakeEndpoint> b = Picks.create("round-robin", null, FakeEndpoint.weighted(5, 1, 1));
        assertEquals("a a b a c a a a a b a c a a", Picks.sequence(b, 14));
    }

    @Test
    void smoothWeightedFollowsWeightsExactlyOverACycle() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(3, 2, 1);
        Balancer<FakeEndpoint> b = Picks.create("round-robin", null, list);
        assertEquals(Map.of("a", 3000, "b", 2000, "c", 1000), Picks.counts(b, list, 6000, RequestInfo.NONE));
    }

    @Test
    void smoothWeightedSkipsUnusableAndKeepsTheRestInProportion() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(5, 1, 1);
        Balancer<FakeEndpoint> b = Picks.create("round-robin", null, list);
        list.get(0).usable = false;
        assertEquals("b c b c", Picks.sequence(b, 4));
    }

    @Test
    void smoothWeightedUsesEffectiveWeight() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1);
        list.get(1).effective = Endpoint.WEIGHT_SCALE / 4; // b ramping, at a quarter of its weight
        Balancer<FakeEndpoint> b = Picks.create("round-robin", null, list);
        assertEquals(Map.of("a", 800, "b", 200), Picks.counts(b, list, 1000, RequestInfo.NONE));
    }

    @Test
    void unweightedIgnoresWeights() {
        Balancer<FakeEndpoint> b = Picks.create("unweighted-round-robin", null, FakeEndpoint.weighted(5, 1, 1));
        assertEquals("a b c a b c", Picks.sequence(b, 6));
    }

    @Test
    void unweightedGivesAnUnusableServersTurnToTheNextOne() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1);
        Balancer<FakeEndpoint> b = Picks.create("unweighted-round-robin", null, list);
        list.get(1).usable = false;
        assertEquals("a c c a c c", Picks.sequence(b, 6));
    }

    @Test
    void everyAlgorithmReturnsNullWhenNothingIsUsableOrTheListIsEmpty() {
        for (String name : List.of("round-robin", "unweighted-round-robin", "least-conn", "random-two", "ip-hash", "consistent-hash")) {
            Balancer<FakeEndpoint> empty = Picks.create(name, "path", List.of());
            assertNull(empty.pick(Picks.path("/x"), FakeEndpoint.USABLE), name);
            List<FakeEndpoint> list = FakeEndpoint.servers(5);
            list.forEach(e -> e.usable = false);
            Balancer<FakeEndpoint> none = Picks.create(name, "path", list);
            assertNull(none.pick(Picks.client("10.1.2.3"), FakeEndpoint.USABLE), name);
            assertNull(none.pick(Picks.path("/x"), FakeEndpoint.USABLE), name);
        }
    }

    @Test
    void everyAlgorithmFindsTheOneUsableServerAmongMany() {
        for (String name : List.of("round-robin", "unweighted-round-robin", "least-conn", "random-two", "ip-hash", "consistent-hash")) {
            List<FakeEndpoint> list = FakeEndpoint.servers(200);
            list.forEach(e -> e.usable = false);
            list.get(137).usable = true;
            Balancer<FakeEndpoint> b = Picks.create(name, "path", list);
            for (int i = 0; i < 20; i++) {
                assertEquals(list.get(137), b.pick(Picks.path("/k" + i), FakeEndpoint.USABLE), name);
                assertEquals(list.get(137), b.pick(Picks.client("10.9." + i + ".1"), FakeEndpoint.USABLE), name);
            }
        }
    }
}
