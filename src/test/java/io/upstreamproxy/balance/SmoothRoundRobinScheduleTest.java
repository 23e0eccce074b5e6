package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The round-robin's schedule (the flat-cost path) against nginx's walk over every server,
 * written out here as the reference: the same sequence while all are usable, the walk taking
 * over exactly where a server's turn finds it unusable or ramping, and the schedule again once
 * all are back.
 */
class SmoothRoundRobinScheduleTest {

    /** nginx's algorithm as the old code had it: every pick walks every server. */
    static final class NginxWalk {
        final List<FakeEndpoint> endpoints;
        final long[] scores;

        NginxWalk(List<FakeEndpoint> endpoints) {
            this.endpoints = endpoints;
            this.scores = new long[endpoints.size()];
        }

        FakeEndpoint pick() {
            int best = -1;
            long total = 0;
            for (int i = 0; i < scores.length; i++) {
                FakeEndpoint e = endpoints.get(i);
                if (!e.usable) {
                    continue;
                }
                int w = e.effectiveWeight(0);
                scores[i] += w;
                total += w;
                if (best < 0 || scores[i] > scores[best]) {
                    best = i;
                }
            }
            scores[best] -= total;
            return endpoints.get(best);
        }

        /** The endpoint the next pick returns, without picking. */
        FakeEndpoint peek() {
            NginxWalk copy = new NginxWalk(endpoints);
            System.arraycopy(scores, 0, copy.scores, 0, scores.length);
            return copy.pick();
        }
    }

    private static List<FakeEndpoint> randomServers(SplittableRandom random, int n, int maxWeight) {
        List<FakeEndpoint> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new FakeEndpoint("s" + i, 1 + random.nextInt(maxWeight)));
        }
        return list;
    }

    private static SmoothWeightedRoundRobin<FakeEndpoint> roundRobin(List<FakeEndpoint> list) {
        SmoothWeightedRoundRobin<FakeEndpoint> b = new SmoothWeightedRoundRobin<>(Picks.seeded(null, 1));
        b.update(list);
        return b;
    }

    private static int totalWeight(List<FakeEndpoint> list) {
        return list.stream().mapToInt(e -> e.weight).sum();
    }

    /** Picks n times from both and fails at the first difference. */
    private static void assertSameSequence(SmoothWeightedRoundRobin<FakeEndpoint> b, NginxWalk nginx, int n, String what) {
        for (int k = 0; k < n; k++) {
            assertEquals(nginx.pick(), b.pick(RequestInfo.NONE, FakeEndpoint.USABLE), what + ", pick " + k);
        }
    }

    @Test
    void scheduleGivesNginxsSequenceOverSeveralCyclesForRandomWeights() {
        SplittableRandom random = new SplittableRandom(7);
        for (int round = 0; round < 60; round++) {
            List<FakeEndpoint> list = randomServers(random, 1 + random.nextInt(40), 1 + random.nextInt(30));
            SmoothWeightedRoundRobin<FakeEndpoint> b = roundRobin(list);
            assertSameSequence(b, new NginxWalk(list), 3 * totalWeight(list), "weights " + list.stream().map(e -> e.weight).toList());
            assertTrue(b.onSchedule());
        }
    }

    @Test
    void largeCycleOverManyServersIsNginxsToo() {
        List<FakeEndpoint> list = randomServers(new SplittableRandom(17), 700, 300); // a cycle of about 100,000
        SmoothWeightedRoundRobin<FakeEndpoint> b = roundRobin(list);
        assertSameSequence(b, new NginxWalk(list), totalWeight(list), "700 servers of weights 1..300");
        assertTrue(b.onSchedule());
    }

    @Test
    void picksOnTheScheduleAskOnlyThePickedServer() {
        List<FakeEndpoint> list = FakeEndpoint.servers(1000);
        SmoothWeightedRoundRobin<FakeEndpoint> b = roundRobin(list);
        AtomicInteger asked = new AtomicInteger();
        for (int k = 0; k < 5000; k++) {
            b.pick(RequestInfo.NONE, e -> asked.incrementAndGet() > 0);
        }
        // one question per pick, and every server once at the start of each of the 5 cycles
        assertEquals(5000 - 5 + 5 * 1000, asked.get());
    }

    /** What happens to the server nginx picks next, and the picks that follow; the balancer is walking after. */
    private interface Turn {
        void next(SmoothWeightedRoundRobin<FakeEndpoint> b, NginxWalk nginx, FakeEndpoint next, int cycle, int round);
    }

    /** For 40 random lists: both pick a random stretch alike, then {@code turn} acts on nginx's next server. */
    private static void afterARandomStretch(long seed, Turn turn) {
        SplittableRandom random = new SplittableRandom(seed);
        for (int round = 0; round < 40; round++) {
            List<FakeEndpoint> list = randomServers(random, 2 + random.nextInt(30), 1 + random.nextInt(20));
            SmoothWeightedRoundRobin<FakeEndpoint> b = roundRobin(list);
            NginxWalk nginx = new NginxWalk(list);
            int w = totalWeight(list);
            assertSameSequence(b, nginx, random.nextInt(2 * w), "before");
            turn.next(b, nginx, nginx.peek(), w, round);
            assertFalse(b.onSchedule());
        }
    }

    @Test
    void walkTakesOverExactlyWhereAnUnusableServersTurnComes() {
        afterARandomStretch(11, (b, nginx, next, w, round) -> {
            next.usable = false; // down just before its turn: nginx and we see it at the same pick
            assertSameSequence(b, nginx, 3 * w, "one down, round " + round);
        });
    }

    @Test
    void walkFollowsARampingServerExactly() {
        afterARandomStretch(13, (b, nginx, ramping, w, round) -> {
            for (int step = 1; step < 10; step++) {
                ramping.effective = ramping.weight * Endpoint.WEIGHT_SCALE * step / 10;
                assertSameSequence(b, nginx, w, "ramp at " + step + "/10, round " + round);
            }
        });
    }

    @Test
    void returnsToTheScheduleOnceEveryServerIsBackAtFullWeight() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(5, 1, 1);
        SmoothWeightedRoundRobin<FakeEndpoint> b = roundRobin(list);
        list.get(0).usable = false;
        assertEquals("b c b c b", Picks.sequence(b, 5));
        assertFalse(b.onSchedule());
        list.get(0).usable = true;
        list.get(1).effective = 50; // b ramping: still walking
        b.pick(RequestInfo.NONE, FakeEndpoint.USABLE);
        assertFalse(b.onSchedule());
        list.get(1).effective = -1;
        b.pick(RequestInfo.NONE, FakeEndpoint.USABLE); // this walk finds everyone back
        assertTrue(b.onSchedule());
        AtomicInteger asked = new AtomicInteger();
        Map<String, Integer> counts = new HashMap<>();
        for (int k = 0; k < 7 * 3; k++) {
            FakeEndpoint e = b.pick(RequestInfo.NONE, x -> asked.incrementAndGet() > 0);
            counts.merge(e.name, 1, Integer::sum);
        }
        // 7 picks so far, so these start 3 cycles (3 servers asked each); one question for the other 18
        assertEquals(3 * 3 + 18, asked.get(), "on the schedule");
        assertEquals(Map.of("a", 15, "b", 3, "c", 3), counts, "three exact cycles");
    }

    @Test
    void backOnTheScheduleTheWalksLastServerDoesNotGetASecondTurnInARow() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1);
        SmoothWeightedRoundRobin<FakeEndpoint> b = roundRobin(list);
        list.get(1).usable = false;
        assertEquals("a a a", Picks.sequence(b, 3));
        list.get(1).usable = true;
        // the first pick walks (nginx's scores make it a), then the schedule goes on after a's turn
        assertEquals("a b a b a b a b a", Picks.sequence(b, 9));
        assertTrue(b.onSchedule());
    }

    @Test
    void aRetryThatExcludesTheServerWhoseTurnItIsWalksOnceAndReturns() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1);
        SmoothWeightedRoundRobin<FakeEndpoint> b = roundRobin(list);
        assertEquals("a", b.pick(RequestInfo.NONE, FakeEndpoint.USABLE).name);
        Predicate<FakeEndpoint> triedB = e -> !e.name.equals("b");
        assertNotEquals("b", b.pick(RequestInfo.NONE, triedB).name);
        assertFalse(b.onSchedule());
        b.pick(RequestInfo.NONE, FakeEndpoint.USABLE);
        assertTrue(b.onSchedule());
    }

    @Test
    void walksEveryPickWhenTheCycleWouldBeTooLong() {
        List<FakeEndpoint> list = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            list.add(new FakeEndpoint("s" + i, i % 2 == 0 ? 1000 : 999)); // gcd 1, cycle of 599,700
        }
        SmoothWeightedRoundRobin<FakeEndpoint> b = roundRobin(list);
        assertFalse(b.onSchedule());
        assertSameSequence(b, new NginxWalk(list), 3000, "no schedule");
    }

    @Test
    void scheduleIsBoundedInLength() {
        assertTrue(SmoothSchedule.fits(new int[] {5, 1, 1}));
        int[] equal = new int[1000];
        java.util.Arrays.fill(equal, 1000);
        assertTrue(SmoothSchedule.fits(equal), "equal weights reduce to a cycle of 1,000");
        assertEquals(1000, SmoothSchedule.of(equal).length());
        int[] unrelated = new int[1000];
        for (int i = 0; i < unrelated.length; i++) {
            unrelated[i] = 1 + i; // a cycle of 500,500
        }
        assertFalse(SmoothSchedule.fits(unrelated));
        assertFalse(SmoothSchedule.fits(new int[0]));
    }

    @Test
    void concurrentPicksOnTheScheduleShareExactly() throws InterruptedException {
        List<FakeEndpoint> list = FakeEndpoint.weighted(4, 2, 1);
        SmoothWeightedRoundRobin<FakeEndpoint> b = roundRobin(list);
        Map<String, AtomicInteger> counts = Map.of("a", new AtomicInteger(), "b", new AtomicInteger(), "c", new AtomicInteger());
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int k = 0; k < 7 * 2500; k++) {
                    counts.get(b.pick(RequestInfo.NONE, FakeEndpoint.USABLE).name).incrementAndGet();
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        // every position of the cycle went to exactly one pick
        assertEquals(40_000, counts.get("a").get());
        assertEquals(20_000, counts.get("b").get());
        assertEquals(10_000, counts.get("c").get());
    }
}
