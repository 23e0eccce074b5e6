package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The ring's lookup through its bucket index, against a plain binary search over every point. */
class HashRingTest {

    @Test
    void indexFindsTheFirstPointAtOrAfterEveryPositionOfASmallRing() {
        assertLookupsMatchAPlainSearch(HashRing.build(FakeEndpoint.servers(1))); // 160 points, 32 buckets
    }

    @Test
    void indexFindsTheFirstPointAtOrAfterEveryPositionOfAMidSizedRing() {
        assertLookupsMatchAPlainSearch(HashRing.build(FakeEndpoint.servers(10)));
    }

    @Test
    void indexFindsTheFirstPointAtOrAfterEveryPositionOfTheLargestRing() {
        List<FakeEndpoint> list = FakeEndpoint.servers(1000);
        for (int i = 0; i < list.size(); i++) {
            list.get(i).weight = 1 + i % 5;
        }
        HashRing<FakeEndpoint> ring = HashRing.build(list); // capped at MAX_POINTS, 65,536 buckets
        assertTrue(ring.points() > HashRing.MAX_POINTS / 2, "points " + ring.points());
        assertLookupsMatchAPlainSearch(ring);
    }

    @Test
    void aPositionPastTheLastPointWrapsToTheFirst() {
        HashRing<FakeEndpoint> ring = HashRing.build(FakeEndpoint.weighted(1));
        int last = ring.position(ring.points() - 1);
        assertEquals(ring.points(), ring.firstAtOrAfter(last + 1), "no point after the last before the ring wraps");
        FakeEndpoint only = FakeEndpoint.weighted(1).get(0);
        HashRing<FakeEndpoint> one = HashRing.build(List.of(only));
        assertSame(only, one.pick(one.position(one.points() - 1) + 1, FakeEndpoint.USABLE));
        assertSame(only, one.pick(-1, FakeEndpoint.USABLE), "0xffffffff wraps too");
    }

    @Test
    void anEmptyRingPicksNothing() {
        HashRing<FakeEndpoint> ring = HashRing.build(List.of());
        assertEquals(0, ring.points());
        assertEquals(0, ring.firstAtOrAfter(12345));
        assertNull(ring.pick(12345, FakeEndpoint.USABLE));
    }

    /**
     * Points are in ring order, and for every point's position, the positions either side
     * of it, both ends of the range and 100,000 random positions, the index gives the same
     * answer as a binary search over the whole ring.
     */
    private static void assertLookupsMatchAPlainSearch(HashRing<?> ring) {
        int n = ring.points();
        for (int i = 1; i < n; i++) {
            assertTrue(Integer.compareUnsigned(ring.position(i - 1), ring.position(i)) <= 0, "ring order at " + i);
        }
        for (int i = 0; i < n; i++) {
            int p = ring.position(i);
            assertLookup(ring, p);
            assertLookup(ring, p - 1);
            assertLookup(ring, p + 1);
        }
        assertLookup(ring, 0);
        assertLookup(ring, -1);
        assertLookup(ring, Integer.MIN_VALUE);
        assertLookup(ring, Integer.MAX_VALUE);
        SplittableRandom random = new SplittableRandom(42);
        for (int k = 0; k < 100_000; k++) {
            assertLookup(ring, random.nextInt());
        }
    }

    private static void assertLookup(HashRing<?> ring, int position) {
        int lo = 0;
        int hi = ring.points();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Integer.compareUnsigned(ring.position(mid), position) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        assertEquals(lo, ring.firstAtOrAfter(position), () -> "position " + Integer.toUnsignedString(position));
    }
}
