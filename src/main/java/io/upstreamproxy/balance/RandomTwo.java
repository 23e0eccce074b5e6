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
 * <p>Cost: each draw is a binary search over cumulative weights computed on
 * {@link #update}, O(log n), no lock. A server in slow start is drawn at its full weight and
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

    /** The endpoints and their running weight totals: {@code upTo[i]} = weights of 0..i. */
    private record Weights<E extends Endpoint>(List<E> endpoints, long[] upTo) {
        Weights(List<E> list) {
            this(List.copyOf(list), new long[list.size()]);
            long sum = 0;
            for (int i = 0; i < upTo.length; i++) {
                sum += endpoints.get(i).weight();
                upTo[i] = sum;
            }
        }

        long total() {
            return upTo.length == 0 ? 0 : upTo[upTo.length - 1];
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
     * -1 after {@value #TRIES} misses. Leaving one endpoint out costs nothing extra: the draw
     * is over the total minus its weight, and values from its range on shift past it.
     */
    private int draw(Weights<E> w, Predicate<? super E> usable, long now, int except) {
        RandomGenerator random = options.random();
        long skipFrom = except < 0 ? Long.MAX_VALUE : except == 0 ? 0 : w.upTo[except - 1];
        long skipped = except < 0 ? 0 : w.upTo[except] - skipFrom;
        long total = w.total() - skipped;
        if (total <= 0) {
            return -1;
        }
        for (int t = 0; t < TRIES; t++) {
            long x = random.nextLong(total);
            if (x >= skipFrom) {
                x += skipped;
            }
            int i = Arrays.binarySearch(w.upTo, x);
            // upTo is strictly increasing (weights >= 1): an exact hit x == upTo[i] belongs to i + 1.
            int index = i >= 0 ? i + 1 : -i - 1;
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
