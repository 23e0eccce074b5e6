package io.upstreamproxy.balance;

import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * What a balancer may use besides its endpoints: the upstream's {@code hash_key} (null when
 * not configured), a nanosecond clock (for slow start) and a random source (seeded in tests).
 */
public record BalancerOptions(String hashKey, LongSupplier nanoClock, RandomGenerator random) {
    public static BalancerOptions defaults() {
        return new BalancerOptions(null, System::nanoTime, RandomGenerator.getDefault());
    }
}
