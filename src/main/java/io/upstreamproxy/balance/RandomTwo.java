package io.upstreamproxy.balance;

import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * nginx's {@code random two least_conn}, the "power of two choices": draw two usable
 * endpoints at random in proportion to their weights and send to the one with fewer requests
 * in flight per unit of effective weight, the second on a tie. The draws are independent (the
 * same endpoint may come twice, as in the classic scheme and Envoy's), which keeps an idle
 * upstream's split exactly proportional to the weights; drawing two different endpoints
 * would skew it (weights 3,1 would give b 3/4 of the traffic). Nearly as even as least-conn
 * under load, with no shared state to contend on and no herd onto one idle server when many
 * proxies balance the same servers.
 *
 * <p>Cost: each draw is O(1), no lock: Walker's alias table, built on {@link #update}, turns
 * two random numbers into an endpoint index exactly in proportion to the weights (a binary
 * search over cumulative weights cost twice as much at 1,000 servers as at 10). A second
 * draw that must differ from the first and lands on it again is redrawn from the others by
 * a binary search over cumulative weights, O(log n), as often as the first one's share of the
 * weight (rarely, in a large upstream). A server in slow start is drawn at its full weight and
 * kept with probability effective/full, else drawn again (rejection sampling keeps the draw
 * proportional to the effective weight). After {@value #TRIES} draws without a usable
 * endpoint (most are down), a linear scan from a random place takes over, as nginx falls back
 * to round-robin.
 */
class RandomTwo<E extends Endpoint> implements Balancer<E> {
    private static final int TRIES = 20;

    private final BalancerOptions options;
    private final boolean distinct;
    private volatile Weights<E> weights = new Weights<>(List.of());

    RandomTwo(BalancerOptions options) {
        this(options, false);
    }

    /** {@code distinct}: the second draw leaves the first endpoint out, so two different ones are compared. */
    RandomTwo(BalancerOptions options, boolean distinct) {
        this.options = options;
        this.distinct = distinct;
    }

    /** True when {@code a} should get the request rather than {@code b}; ties go to {@code b}. Here: fewer in flight per weight. */
    boolean lighter(E a, E b, long now) {
        return a.active() * (long) b.effectiveWeight(now) < b.active() * (long) a.effectiveWeight(now);
    }

    /**
     * The endpoints, their running weight totals ({@code upTo[i]} = weights of 0..i) and an
     * alias table: column i keeps i for draws below {@code keep[i]} out of {@link #total()},
     * and gives the rest to {@code alias[i]}. Built with Vose's method in whole numbers (each
     * weight counted n times, each column holding the total), so the draw is exact.
     */
    record Weights<E extends Endpoint>(List<E> endpoints, long[] upTo, long[] keep, int[] alias) {
        Weights(List<E> list) {
            this(List.copyOf(list), new long[list.size()], new long[list.size()], new int[list.size()]);
            long sum = 0;
            for (int i = 0; i < upTo.length; i++) {
                sum += endpoints.get(i).weight();
                upTo[i] = sum;
            }
            int n = upTo.length;
            long[] left = new long[n];
            int[] small = new int[n];
            int[] large = new int[n];
            int smalls = 0;
            int larges = 0;
            for (int i = 0; i < n; i++) {
                left[i] = endpoints.get(i).weight() * (long) n;
                alias[i] = i;
                if (left[i] < sum) {
                    small[smalls++] = i;
                } else {
                    large[larges++] = i;
                }
            }
            while (smalls > 0 && larges > 0) {
                int s = small[--smalls];
                int l = large[larges - 1];
                keep[s] = left[s];
                alias[s] = l;
                left[l] -= sum - left[s];
                if (left[l] < sum) {
                    larges--;
                    small[smalls++] = l;
                }
            }
            // what remains holds exactly the total: whole numbers leave no rounding to spread
            for (int i = 0; i < larges; i++) {
                keep[large[i]] = sum;
            }
            for (int i = 0; i < smalls; i++) {
                keep[small[i]] = sum;
            }
        }

        long total() {
            return upTo.length == 0 ? 0 : upTo[upTo.length - 1];
        }

        /** An index drawn in proportion to the weights, O(1). */
        int draw(RandomGenerator random) {
            int i = random.nextInt(keep.length);
            return random.nextLong(total()) < keep[i] ? i : alias[i];
        }

        /** An index other than {@code except} drawn in proportion to the weights, by binary search, O(log n). */
        int drawExcept(RandomGenerator random, int except) {
            long skipFrom = except == 0 ? 0 : upTo[except - 1];
            long skipped = upTo[except] - skipFrom;
            long x = random.nextLong(total() - skipped);
            if (x >= skipFrom) {
                x += skipped;
            }
            int i = Arrays.binarySearch(upTo, x);
            // upTo is strictly increasing (weights >= 1): an exact hit x == upTo[i] belongs to i + 1.
            return i >= 0 ? i + 1 : -i - 1;
        }
    }

    @Override
    public void update(List<E> list) {
        weights = new Weights<>(list);
    }

    @Override
    public E pick(RequestInfo request, Predicate<? super E> usable) {
        Weights<E> w = weights;
        int n = w.endpoints.size();
        if (n == 0) {
            return null;
        }
        long now = options.nanoClock().getAsLong();
        int first = draw(w, usable, now, -1);
        if (first < 0) {
            return scan(w.endpoints, usable);
        }
        int second = draw(w, usable, now, distinct ? first : -1);
        if (second < 0 || second == first) {
            return w.endpoints.get(first);
        }
        E a = w.endpoints.get(first);
        E b = w.endpoints.get(second);
        return lighter(a, b, now) ? a : b;
    }

    /**
     * The index of a usable endpoint drawn by effective weight, never {@code except} (-1: any);
     * -1 after {@value #TRIES} misses. Leaving one endpoint out: a draw that lands on it is
     * drawn again from the others, which keeps every other endpoint's chance in proportion.
     */
    private int draw(Weights<E> w, Predicate<? super E> usable, long now, int except) {
        RandomGenerator random = options.random();
        if (except >= 0 && w.endpoints.size() == 1) {
            return -1;
        }
        for (int t = 0; t < TRIES; t++) {
            int index = w.draw(random);
            if (index == except) {
                index = w.drawExcept(random, except);
            }
            E e = w.endpoints.get(index);
            if (!usable.test(e)) {
                continue;
            }
            int full = e.weight() * Endpoint.WEIGHT_SCALE;
            int effective = e.effectiveWeight(now);
            if (effective < full && random.nextInt(full) >= effective) {
                continue;
            }
            return index;
        }
        return -1;
    }

    private E scan(List<E> list, Predicate<? super E> usable) {
        int n = list.size();
        int start = options.random().nextInt(n);
        for (int i = 0; i < n; i++) {
            E e = list.get((start + i) % n);
            if (usable.test(e)) {
                return e;
            }
        }
        return null;
    }
}
