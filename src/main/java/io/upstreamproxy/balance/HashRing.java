package io.upstreamproxy.balance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A ketama consistent-hash ring, immutable: each endpoint owns {@value #POINTS_PER_WEIGHT}
 * points per unit of weight, placed by MD5 of its {@code host:port} (so they depend on no
 * other endpoint), and a key belongs to the first point at or after its hash, clockwise.
 * Removing one of N endpoints therefore moves only the keys it owned (about 1/N), adding one
 * moves only the keys it takes over, and raising a weight keeps the old points and adds more.
 *
 * <p>An endpoint that is not usable is passed over by walking on to the next point, so its
 * keys spread over the endpoints that own the following points instead of all moving to one.
 *
 * <p>Cost: a lookup reads one entry of an index by the position's top bits, which bounds a
 * binary search to the few points (about {@value #POINTS_PER_BUCKET} on average) of that
 * bucket, then the point itself, which holds its owner: three or four cache lines whatever the
 * ring's size, with no lock and no allocation. A plain binary search over a large ring (at
 * 1,000 servers, 2 MiB) missed the cache at most of its 18 steps. Building sorts all points,
 * O(P log P); the MD5 work (the larger part) is done once per endpoint and carried from ring to
 * ring. Points are capped at {@value #MAX_POINTS} (2 MiB, and 256 KiB of index): past that
 * every endpoint gets proportionally fewer, at least one.
 */
final class HashRing<E extends Endpoint> {
    static final int POINTS_PER_WEIGHT = 160;
    static final int MAX_POINTS = 1 << 18;
    /** Points per index bucket, on average; the index has a power of two buckets, 2 to 2^16. */
    private static final int POINTS_PER_BUCKET = 4;
    /** Points walked past unusable endpoints before scanning the endpoint list instead. */
    private static final int MAX_WALK = 64;

    private final List<E> endpoints;
    /**
     * The points in ring order, each its position (an unsigned 32-bit value stored with the
     * sign bit flipped, so signed order is ring order) in the high half and the index of its
     * endpoint in {@link #endpoints} in the low half.
     */
    private final long[] points;
    /** Bucket b's points are {@code points[bucketStart[b]]} up to, not including, {@code points[bucketStart[b + 1]]}. */
    private final int[] bucketStart;
    /** A position's bucket is its top bits: {@code position >>> bucketShift}. */
    private final int bucketShift;
    /** Each endpoint's points by key, for the next ring to reuse; never modified. */
    private final Map<String, int[]> pointsByKey;

    private HashRing(List<E> endpoints, long[] points, Map<String, int[]> pointsByKey) {
        this.endpoints = endpoints;
        this.points = points;
        this.pointsByKey = pointsByKey;
        // At least two buckets, so the shift stays below 32 (Java shifts an int by 32 as by 0).
        int bits = Math.max(1, Math.min(16, 31 - Integer.numberOfLeadingZeros(Math.max(1, points.length / POINTS_PER_BUCKET))));
        this.bucketShift = 32 - bits;
        this.bucketStart = new int[(1 << bits) + 1];
        int p = 0;
        for (int b = 0; b < 1 << bits; b++) {
            bucketStart[b] = p;
            while (p < points.length && bucketOf(position(p)) == b) {
                p++;
            }
        }
        bucketStart[1 << bits] = points.length;
    }

    static <E extends Endpoint> HashRing<E> build(List<E> list) {
        return build(list, null);
    }

    /** A ring for {@code list}, reusing the points {@code previous} (may be null) computed for the same keys and counts. */
    static <E extends Endpoint> HashRing<E> build(List<E> list, HashRing<?> previous) {
        // Sorted by key so that the ring (and point ties) never depend on the list order.
        List<E> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.comparing(Endpoint::key));
        long totalWeight = 0;
        for (E e : sorted) {
            totalWeight += e.weight();
        }
        double perWeight = Math.min(POINTS_PER_WEIGHT, (double) MAX_POINTS / Math.max(1, totalWeight));
        int[] counts = new int[sorted.size()];
        int total = 0;
        for (int i = 0; i < sorted.size(); i++) {
            counts[i] = Math.max(1, (int) Math.round(sorted.get(i).weight() * perWeight));
            total += counts[i];
        }
        // Position in the high half, owner in the low half: one sort orders both.
        long[] packed = new long[total];
        Map<String, int[]> pointsByKey = new HashMap<>();
        int k = 0;
        for (int i = 0; i < sorted.size(); i++) {
            String key = sorted.get(i).key();
            int[] points = previous == null ? null : previous.pointsByKey.get(key);
            if (points == null || points.length != counts[i]) {
                points = Hashing.ketamaPoints(key, counts[i]);
            }
            pointsByKey.put(key, points);
            for (int p : points) {
                packed[k++] = (long) (p ^ Integer.MIN_VALUE) << 32 | i;
            }
        }
        Arrays.sort(packed);
        return new HashRing<>(List.copyOf(sorted), packed, pointsByKey);
    }

    /** How many points the ring has, over all endpoints. */
    int points() {
        return points.length;
    }

    /** Point {@code i}'s position, an unsigned 32-bit value. */
    int position(int i) {
        return (int) (points[i] >> 32) ^ Integer.MIN_VALUE;
    }

    private int bucketOf(int position) {
        return position >>> bucketShift;
    }

    /**
     * The index of the first point at or after {@code position} (an unsigned 32-bit value);
     * {@link #points()} when there is none before the ring wraps.
     */
    int firstAtOrAfter(int position) {
        int b = bucketOf(position);
        int lo = bucketStart[b];
        int hi = bucketStart[b + 1];
        // A later bucket's points all lie after position, so if none of this one's is at or
        // after it, the answer is the next bucket's first point: hi.
        long key = (long) (position ^ Integer.MIN_VALUE) << 32;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (points[mid] < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /**
     * The endpoint owning the first point at or after {@code position} (an unsigned 32-bit
     * value), walking on past unusable ones; null when none is usable.
     */
    E pick(int position, Predicate<? super E> usable) {
        int n = points.length;
        if (n == 0) {
            return null;
        }
        int i = firstAtOrAfter(position);
        int last = -1;
        for (int step = Math.min(MAX_WALK, n); step > 0; step--, i++) {
            if (i == n) {
                i = 0;
            }
            int owner = (int) points[i];
            if (owner != last) {
                last = owner;
                E e = endpoints.get(owner);
                if (usable.test(e)) {
                    return e;
                }
            }
        }
        // Many unusable endpoints in a row: scan the list from the last one seen, so the answer
        // is still the same for the same key.
        int size = endpoints.size();
        for (int j = 1; j <= size; j++) {
            E e = endpoints.get((last + j) % size);
            if (usable.test(e)) {
                return e;
            }
        }
        return null;
    }
}
