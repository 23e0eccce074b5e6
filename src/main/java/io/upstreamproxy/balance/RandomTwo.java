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
final class RandomTwo<E extends Endpoint> implements Balancer<E> {
    private static final int TRIES = 20;

    private final BalancerOptions options;
    private volatile Weights<E> weights = new Weights<>(List.of());

    RandomTwo(BalancerOptions options) {
        this.options = options;
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
        E first = draw(w, usable, now);
        if (first == null) {
            return scan(w.endpoints, usable);
        }
        E second = draw(w, usable, now);
        if (second == null || second == first) {
            return first;
        }
        long cmp = Long.compare(first.active() * (long) second.effectiveWeight(now),
                second.active() * (long) first.effectiveWeight(now));
        return cmp < 0 ? first : second;
    }

    /** A usable endpoint drawn by effective weight; null after {@value #TRIES} misses. */
    private E draw(Weights<E> w, Predicate<? super E> usable, long now) {
        RandomGenerator random = options.random();
        for (int t = 0; t < TRIES; t++) {
            int i = Arrays.binarySearch(w.upTo, random.nextLong(w.total()));
            // upTo is strictly increasing (weights >= 1): an exact hit x == upTo[i] belongs to i + 1.
            E e = w.endpoints.get(i >= 0 ? i + 1 : -i - 1);
            if (!usable.test(e)) {
                continue;
            }
            int full = e.weight() * Endpoint.WEIGHT_SCALE;
            int effective = e.effectiveWeight(now);
            if (effective < full && random.nextInt(full) >= effective) {
                continue;
            }
            return e;
        }
        return null;
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
