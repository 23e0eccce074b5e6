package io.upstreamproxy.balance;

import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * What a balancer may use besides its endpoints: the upstream's {@code hash_key} (null when
 * not configured), a nanosecond clock (for slow start) and a random source (seeded in tests).
 * The random source is shared by every thread that picks, so in production it must be
 * {@link #threadLocalRandom()}; a seeded generator is for single-threaded tests.
 */
public record BalancerOptions(String hashKey, LongSupplier nanoClock, RandomGenerator random) {
    /** Each calling thread draws from its own {@link ThreadLocalRandom}: no shared state, no CAS. */
    private static final RandomGenerator THREAD_LOCAL = () -> ThreadLocalRandom.current().nextLong();

    public static BalancerOptions defaults() {
        return new BalancerOptions(null, System::nanoTime, THREAD_LOCAL);
    }

    /** Options for production use: the given hash key and clock, thread-local randomness. */
    public static BalancerOptions of(String hashKey, LongSupplier nanoClock) {
        return new BalancerOptions(hashKey, nanoClock, THREAD_LOCAL);
    }

    /** A random generator safe to share between threads. */
    public static RandomGenerator threadLocalRandom() {
        return THREAD_LOCAL;
    }

    /** The parsed {@code hash_key}, or a {@link BalancerOptionException} when it is missing or malformed. */
    public HashKey requireHashKey() {
        if (hashKey == null) {
            throw new BalancerOptionException("hash_key", "missing (expected: " + HashKey.FORMS + ")");
        }
        return HashKey.parse(hashKey);
    }
}
