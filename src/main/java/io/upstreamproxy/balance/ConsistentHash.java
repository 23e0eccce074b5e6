package io.upstreamproxy.balance;

import java.util.List;
import java.util.function.Predicate;

/**
 * Sticky balancing on a {@link HashRing}: the request's key picks the endpoint, so the same
 * key keeps landing on the same server while the list stays the same, and a list change moves
 * only the keys of the servers that came or went. Serves both {@code consistent-hash} (key
 * from the configured {@link HashKey}) and {@code ip-hash} (key from the client's network).
 *
 * <p>A request without a key (no such header, cookie, query parameter; an empty value) goes
 * to smooth weighted round-robin instead, as nginx's {@code hash} does for an empty key.
 * Weights shape the ring; slow start does not apply (a ramp would move keys), as in nginx.
 */
final class ConsistentHash<E extends Endpoint> implements Balancer<E> {
    /** A request's key as a 64-bit hash; {@link #NO_KEY} when the request carries none. */
    @FunctionalInterface
    interface KeyHash {
        long NO_KEY = 0;

        long of(RequestInfo request);
    }

    private final KeyHash keyHash;
    private final SmoothWeightedRoundRobin<E> fallback;
    private volatile HashRing<E> ring = HashRing.build(List.of());

    ConsistentHash(KeyHash keyHash, BalancerOptions options) {
        this.keyHash = keyHash;
        this.fallback = new SmoothWeightedRoundRobin<>(options);
    }

    /** {@code consistent-hash}: the configured key, hashed as text. */
    static <E extends Endpoint> ConsistentHash<E> byKey(BalancerOptions options) {
        HashKey key = options.requireHashKey();
        return new ConsistentHash<>(request -> {
            String value = key.of(request);
            return value == null || value.isEmpty() ? KeyHash.NO_KEY : nonZero(Hashing.hash(value));
        }, options);
    }

    /** {@code ip-hash}: the client's /24 (IPv4) or /64 (IPv6), see {@link ClientNetwork}. */
    static <E extends Endpoint> ConsistentHash<E> byClientNetwork(BalancerOptions options) {
        return new ConsistentHash<>(request -> {
            String address = request.clientAddress();
            return address == null || address.isEmpty() ? KeyHash.NO_KEY : nonZero(Hashing.mix(ClientNetwork.key(address)));
        }, options);
    }

    /** Zero means "no key"; a real hash of zero (one in 2^64) becomes one, a neighbour on the ring. */
    private static long nonZero(long hash) {
        return hash == 0 ? 1 : hash;
    }

    @Override
    public void update(List<E> endpoints) {
        ring = HashRing.build(endpoints);
        fallback.update(endpoints);
    }

    @Override
    public E pick(RequestInfo request, Predicate<? super E> usable) {
        HashRing<E> r = ring;
        if (r.isEmpty()) {
            return null;
        }
        long hash = keyHash.of(request);
        if (hash == KeyHash.NO_KEY) {
            return fallback.pick(request, usable);
        }
        return r.pick((int) (hash >>> 32), usable);
    }
}
