package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class UnweightedRoundRobinTest {

    @Test
    void ignoresWeights() {
        Balancer<FakeEndpoint> b = Picks.create("unweighted-round-robin", null, FakeEndpoint.weighted(5, 1, 1));
        assertEquals("a b c a b c", Picks.sequence(b, 6));
    }

    @Test
    void givesAnUnusableServersTurnToTheNextOne() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1);
        Balancer<FakeEndpoint> b = Picks.create("unweighted-round-robin", null, list);
        list.get(1).usable = false;
        assertEquals("a c c a c c", Picks.sequence(b, 6));
    }
}
