package io.upstreamproxy.balance;

/**
 * A balancing algorithm known by name. Built-in ones are listed in {@link Balancers}; more are
 * found with {@link java.util.ServiceLoader} under
 * {@code META-INF/services/io.upstreamproxy.balance.BalancerProvider}, so a new algorithm needs
 * no change to the proxy.
 */
public interface BalancerProvider {
    /** The name used in the config's {@code balancer} key. */
    String name();

    <E extends Endpoint> Balancer<E> create(BalancerOptions options);
}
