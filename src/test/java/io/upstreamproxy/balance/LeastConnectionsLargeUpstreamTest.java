package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** least-conn past {@link LeastConnections#EXACT_UP_TO} servers: two weighted draws, the round-robin's turn on an idle tie, a third draw on a busy one. */
class LeastConnectionsLargeUpstreamTest {

    private static List<FakeEndpoint> randomWeights(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<FakeEndpoint> list = FakeEndpoint.servers(n);
        list.forEach(e -> e.weight = 1 + random.nextInt(5));
        return list;
    }

    @Test
    void idleLargeUpstreamGivesRoundRobinsSequence() {
        List<FakeEndpoint> list = randomWeights(300, 3);
        Balancer<FakeEndpoint> leastConn = Picks.create("least-conn", null, list);
        Balancer<FakeEndpoint> roundRobin = Picks.create("round-robin", null, list);
        int cycle = list.stream().mapToInt(e -> e.weight).sum();
        assertEquals(Picks.sequence(roundRobin, 2 * cycle), Picks.sequence(leastConn, 2 * cycle));
    }

    @Test
    void aPickAsksAFewServersNotAll() {
        List<FakeEndpoint> list = randomWeights(1000, 5);
        for (int i = 0; i < list.size(); i++) {
            list.get(i).active = i % 10;
        }
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        AtomicInteger asked = new AtomicInteger();
        for (int k = 0; k < 1000; k++) {
            b.pick(RequestInfo.NONE, e -> asked.incrementAndGet() > 0);
        }
        // three candidates a pick, and every server once for the round-robin's cycle start
        assertTrue(asked.get() <= 3 * 1000 + list.size(), asked + " questions for 1000 picks");
    }

    @Test
    void sendsAroundABusyServer() {
        List<FakeEndpoint> list = FakeEndpoint.servers(100);
        list.get(0).active = 50;
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        Map<String, Integer> counts = Picks.counts(b, list, 10_000, RequestInfo.NONE);
        // round-robin alone would give it 100: a draw of it loses to the other draw, and its round-robin turn to the tied draws
        assertEquals(0, counts.get(list.get(0).name));
    }

    @Test
    void prefersTheLessLoadedHalf() {
        List<FakeEndpoint> list = FakeEndpoint.servers(100);
        for (int i = 0; i < 50; i++) {
            list.get(i).active = 5;
        }
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        Map<String, Integer> counts = Picks.counts(b, list, 10_000, RequestInfo.NONE);
        int busy = list.subList(0, 50).stream().mapToInt(e -> counts.get(e.name)).sum();
        // busy wins only when both draws and then a third (or the round-robin's turn) are busy: about 1 in 8, against 1 in 2 for round-robin
        assertTrue(busy < 2_000, busy + " of 10,000 to the busy half");
    }

    @Test
    void tiesUnderLoadGoToTheDrawsNotTheRoundRobin() {
        List<FakeEndpoint> list = FakeEndpoint.servers(100);
        Balancer<FakeEndpoint> roundRobin = Picks.create("round-robin", null, list);
        String inTurn = Picks.sequence(roundRobin, 20);
        Balancer<FakeEndpoint> idle = Picks.create("least-conn", null, list);
        assertEquals(inTurn, Picks.sequence(idle, 20), "idle ties: the round-robin's turn");
        list.forEach(e -> e.active = 3);
        Balancer<FakeEndpoint> busy = Picks.create("least-conn", null, list);
        assertNotEquals(inTurn, Picks.sequence(busy, 20), "busy ties: random draws");
    }

    @Test
    void skipsUnusableServersAndRampingOnesGetTheirEffectiveShareWhenIdle() {
        List<FakeEndpoint> list = FakeEndpoint.servers(20);
        list.get(3).usable = false;
        list.get(7).effective = Endpoint.WEIGHT_SCALE / 2;
        Balancer<FakeEndpoint> b = Picks.create("least-conn", null, list);
        Map<String, Integer> counts = Picks.counts(b, list, 3_700, RequestInfo.NONE); // a cycle of 37: 2 per full server, 1 for the half's
        assertEquals(0, counts.get(list.get(3).name));
        assertEquals(100, counts.get(list.get(7).name), 2);
        assertEquals(200, counts.get(list.get(8).name), 2);
    }
}
