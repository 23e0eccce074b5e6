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
 * <p>Cost: a lookup is a binary search, O(log P) for P points, flat in practice, with no lock
 * and no allocation. Building sorts all points, O(P log P); the MD5 work (the larger part) is
 * done once per endpoint and carried from ring to ring. Points are capped at
 * {@value #MAX_POINTS} (2 MB): past that every endpoint gets proportionally fewer, at least one.
 */
final class HashRing<E extends Endpoint> {
    static final int POINTS_PER_WEIGHT = 160;
    static final int MAX_POINTS = 1 << 18;
    /** Points walked past unusable endpoints before scanning the endpoint list instead. */
    private static final int MAX_WALK = 64;

    private final List<E> endpoints;
    /** Point positions, unsigned 32-bit values stored with the sign bit flipped so signed order is ring order. */
    private final int[] positions;
    /** For each point, the index of its endpoint in {@link #endpoints}. */
    private final int[] owners;
    /** Each endpoint's points by key, for the next ring to reuse; never modified. */
    private final Map<String, int[]> pointsByKey;

    private HashRing(List<E> endpoints, int[] positions, int[] owners, Map<String, int[]> pointsByKey) {
        this.endpoints = endpoints;
        this.positions = positions;
        this.owners = owners;
        this.pointsByKey = pointsByKey;
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
        int[] positions = new int[total];
        int[] owners = new int[total];
        for (int i = 0; i < total; i++) {
            positions[i] = (int) (packed[i] >> 32);
            owners[i] = (int) packed[i];
        }
        return new HashRing<>(List.copyOf(sorted), positions, owners, pointsByKey);
    }

    /** How many points the ring has, over all endpoints. */
    int points() {
        return positions.length;
    }

    /**
     * The endpoint owning the first point at or after {@code position} (an unsigned 32-bit
     * value), walking on past unusable ones; null when none is usable.
     */
    E pick(int position, Predicate<? super E> usable) {
        int n = positions.length;
        if (n == 0) {
            return null;
        }
        int i = Arrays.binarySearch(positions, position ^ Integer.MIN_VALUE);
        if (i < 0) {
            i = -i - 1;
        }
        int last = -1;
        for (int step = Math.min(MAX_WALK, n); step > 0; step--, i++) {
            if (i == n) {
                i = 0;
            }
            int owner = owners[i];
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
