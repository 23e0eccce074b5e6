package io.upstreamproxy.balance;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A third-party algorithm as a plugin would ship it: a public provider class named in
 * {@code META-INF/services/io.upstreamproxy.balance.BalancerProvider}. Always the first
 * usable server ("first" in HAProxy), which makes its effect easy to see end to end.
 */
public final class FirstUsableBalancerProvider implements BalancerProvider {
    public static final String NAME = "first-usable";
    /** Every update of every instance: tests count how often a list reaches the balancers. */
    public static final AtomicInteger UPDATES = new AtomicInteger();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public <E extends Endpoint> Balancer<E> create(BalancerOptions options) {
        return new Balancer<>() {
            private volatile List<E> endpoints = List.of();

            @Override
            public void update(List<E> list) {
                UPDATES.incrementAndGet();
                endpoints = List.copyOf(list);
            }

            @Override
            public E pick(RequestInfo request, Predicate<? super E> usable) {
                for (E e : endpoints) {
                    if (usable.test(e)) {
                        return e;
                    }
                }
                return null;
            }
        };
    }
}
