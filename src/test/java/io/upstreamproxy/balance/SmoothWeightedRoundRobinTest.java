package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SmoothWeightedRoundRobinTest {
    /** A fixed endpoint: the smallest fake of our own interface. */
    record Fake(String key, int weight) implements Endpoint {
        @Override
        public int active() {
            return 0;
        }
    }

    private static String sequence(Balancer<Fake> b, int n) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < n; i++) {
            out.append(b.pick(RequestInfo.NONE, e -> true).key());
        }
        return out.toString();
    }

    private static Balancer<Fake> balancer(Fake... endpoints) {
        Balancer<Fake> b = Balancers.create("round-robin", BalancerOptions.defaults());
        b.update(List.of(endpoints));
        return b;
    }

    @Test
    void weightsFiveOneOneGiveNginxSequence() {
        Balancer<Fake> b = balancer(new Fake("a", 5), new Fake("b", 1), new Fake("c", 1));
        assertEquals("aabacaa" + "aabacaa", sequence(b, 14));
    }

    @Test
    void equalWeightsAlternate() {
        assertEquals("abcabc", sequence(balancer(new Fake("a", 1), new Fake("b", 1), new Fake("c", 1)), 6));
    }

    @Test
    void shareIsExactlyProportionalOverACycle() {
        Balancer<Fake> b = balancer(new Fake("a", 4), new Fake("b", 2), new Fake("c", 1));
        Map<String, Integer> counts = new HashMap<>();
        for (char ch : sequence(b, 700).toCharArray()) {
            counts.merge(String.valueOf(ch), 1, Integer::sum);
        }
        assertEquals(Map.of("a", 400, "b", 200, "c", 100), counts);
    }

    @Test
    void skipsUnusableEndpointsAndSharesTheirTurns() {
        Balancer<Fake> b = balancer(new Fake("a", 5), new Fake("b", 1), new Fake("c", 1));
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            out.append(b.pick(RequestInfo.NONE, e -> !e.key().equals("a")).key());
        }
        assertEquals("bcbcbc", out.toString());
    }

    @Test
    void returnsNullWhenNothingIsUsableOrEmpty() {
        assertNull(balancer(new Fake("a", 1)).pick(RequestInfo.NONE, e -> false));
        assertNull(balancer().pick(RequestInfo.NONE, e -> true));
    }

    @Test
    void updateReplacesTheList() {
        Balancer<Fake> b = balancer(new Fake("a", 1));
        b.update(List.of(new Fake("z", 1)));
        assertEquals("zz", sequence(b, 2));
    }

    @Test
    void followsEffectiveWeightWhileAServerRampsUp() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1);
        list.get(1).effective = Endpoint.WEIGHT_SCALE / 4; // b ramping, at a quarter of its weight
        Balancer<FakeEndpoint> b = Picks.create("round-robin", null, list);
        assertEquals(Map.of("a", 800, "b", 200), Picks.counts(b, list, 1000, RequestInfo.NONE));
    }
}
