package io.upstreamproxy.balance;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Plain round-robin, weights ignored: a b c a b c. A shared counter picks where to start and
 * the pick takes the first usable endpoint from there, so an unusable endpoint's turn goes to
 * the next one.
 *
 * <p>Cost: one atomic increment and no lock; O(1) while endpoints are usable, O(n) in the
 * worst case. When the counter wraps past 2^32 the sequence skips once; harmless.
 */
final class UnweightedRoundRobin<E extends Endpoint> implements Balancer<E> {
    private final AtomicInteger counter = new AtomicInteger();
    private volatile List<E> endpoints = List.of();

    @Override
    public void update(List<E> list) {
        endpoints = List.copyOf(list);
    }

    @Override
    public E pick(RequestInfo request, Predicate<? super E> usable) {
        List<E> list = endpoints;
        int n = list.size();
        if (n == 0) {
            return null;
        }
        int start = Math.floorMod(counter.getAndIncrement(), n);
        for (int i = 0; i < n; i++) {
            E e = list.get(start + i < n ? start + i : start + i - n);
            if (usable.test(e)) {
                return e;
            }
        }
        return null;
    }
}
