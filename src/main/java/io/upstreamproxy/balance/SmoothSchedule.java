package io.upstreamproxy.balance;

/**
 * One cycle of nginx's smooth weighted round-robin, computed once, so that a pick is a table
 * lookup: weights 5,1,1 give the cycle {@code a a b a c a a} (indexes 0 0 1 0 2 0 0). The
 * sequence depends only on the weights' ratios, so they are divided by their greatest common
 * divisor first (1,000 servers of weight 3 make a cycle of 1,000, not 3,000).
 *
 * <p>Memory: one {@code char} per entry of the cycle, at most {@value #MAX_ENTRIES} entries
 * (512 KiB; 1,000 servers of weights 1..5 take 6 KiB). Building is O(log n) per entry
 * ({@link SmoothCycle}): 2 ms for those 1,000 servers, about 0.1 s for the longest cycle,
 * once per server list, by the first pick after an update (picks meanwhile wait for it).
 * {@link #fits} says ahead whether a list is within the bound; a list that is not (many
 * servers with large, unrelated weights: 1,000 servers averaging more than 262 after the
 * division; or more than 65,536 servers) is not given a schedule, and its balancer walks
 * every server on each pick, as before.
 */
final class SmoothSchedule {
    /** Entries of one cycle at most: the reduced weights' sum. */
    static final int MAX_ENTRIES = 1 << 18;

    /** The weights divided by their greatest common divisor. */
    private final int[] weights;
    /** The sum of {@link #weights}: the cycle's length. */
    private final int total;
    /** The index of the endpoint picked at each position of the cycle. */
    private final char[] order;

    private SmoothSchedule(int[] weights, int total) {
        this.weights = weights;
        this.total = total;
        this.order = SmoothCycle.of(weights, total);
    }

    /** True when a schedule of these weights (each at least 1) is within the memory bound. */
    static boolean fits(int[] weights) {
        if (weights.length == 0 || weights.length > Character.MAX_VALUE + 1) {
            return false;
        }
        long total = reducedTotal(weights, gcd(weights));
        return total <= MAX_ENTRIES;
    }

    /** The schedule of these weights; only for weights that {@link #fits}. */
    static SmoothSchedule of(int[] weights) {
        int g = gcd(weights);
        int[] reduced = new int[weights.length];
        for (int i = 0; i < weights.length; i++) {
            reduced[i] = weights[i] / g;
        }
        return new SmoothSchedule(reduced, (int) reducedTotal(weights, g));
    }

    private static int gcd(int[] weights) {
        int g = 0;
        for (int w : weights) {
            int a = g;
            int b = w;
            while (b != 0) {
                int t = a % b;
                a = b;
                b = t;
            }
            g = a;
        }
        return g;
    }

    private static long reducedTotal(int[] weights, int g) {
        long total = 0;
        for (int w : weights) {
            total += w / g;
        }
        return total;
    }

    /** The cycle's length. */
    int length() {
        return total;
    }

    /** Where pick {@code k} of the endless sequence falls in the cycle: 0 starts a cycle. */
    int cyclePosition(long k) {
        return (int) Math.floorMod(k, (long) total);
    }

    /** The endpoint index at position {@code j} of the cycle. */
    int at(int j) {
        return order[j];
    }

    /**
     * The position just after the first turn of endpoint {@code index} at or after position
     * {@code k}: where to go on from when that endpoint has just been picked. Found within one
     * cycle, as every endpoint has a turn in each.
     */
    long after(int index, long k) {
        long m = k;
        while (order[cyclePosition(m)] != index) {
            m++;
        }
        return m + 1;
    }

    /**
     * nginx's running scores just before position {@code k}, had it walked every server from
     * all scores 0, in units where endpoint i's weight is {@code weights[i] * unit / reduced
     * weight}: walking on from these scores gives exactly the schedule's sequence. Endpoint i
     * has been picked p times in the first j positions of the cycle, so its score is
     * {@code w_i * j - total * p}; the whole cycle returns every score to 0.
     */
    long[] scoresAt(long k, int[] fullWeights) {
        int j = cyclePosition(k);
        long[] picks = new long[weights.length];
        for (int p = 0; p < j; p++) {
            picks[order[p]]++;
        }
        long[] scores = new long[weights.length];
        for (int i = 0; i < weights.length; i++) {
            // fullWeights[i] / weights[i] is the same for every i: the scale from this schedule's units to the caller's
            scores[i] = (weights[i] * (long) j - total * picks[i]) * (fullWeights[i] / weights[i]);
        }
        return scores;
    }
}
