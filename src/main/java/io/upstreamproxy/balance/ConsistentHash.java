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
 *
 * <p>The ring is built by the first pick after an {@link #update}, not by the update itself:
 * an upstream of N servers gets N updates at start-up (one per server added, twice that when
 * the state file is laid over the config), and N builds of a ring of N servers would take
 * minutes at N = 1000. That first pick waits for one build (milliseconds at 1000 servers,
 * done once; concurrent picks wait for the same build); every other pick reads a volatile
 * field and takes no lock.
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
    private volatile Snapshot<E> snapshot = new Snapshot<>(List.of(), null);

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

    /** An endpoint list and its ring, built on first use from the last ring that was built. */
    private static final class Snapshot<E extends Endpoint> {
        final List<E> endpoints;
        private volatile HashRing<E> ring;
        /** The ring to reuse points from; dropped once this one is built. */
        private volatile HashRing<E> base;

        Snapshot(List<E> endpoints, HashRing<E> base) {
            this.endpoints = List.copyOf(endpoints);
            this.base = base;
        }

        HashRing<E> ring() {
            HashRing<E> r = ring;
            if (r == null) {
                synchronized (this) {
                    r = ring;
                    if (r == null) {
                        r = HashRing.build(endpoints, base);
                        ring = r;
                        base = null;
                    }
                }
            }
            return r;
        }

        /** The newest ring built so far: this one's, or the one it would reuse points from. */
        HashRing<E> newestBuilt() {
            HashRing<E> r = ring;
            return r != null ? r : base;
        }
    }

    @Override
    public void update(List<E> endpoints) {
        snapshot = new Snapshot<>(endpoints, snapshot.newestBuilt());
        fallback.update(endpoints);
    }

    @Override
    public E pick(RequestInfo request, Predicate<? super E> usable) {
        Snapshot<E> s = snapshot;
        if (s.endpoints.isEmpty()) {
            return null;
        }
        long hash = keyHash.of(request);
        if (hash == KeyHash.NO_KEY) {
            return fallback.pick(request, usable);
        }
        return s.ring().pick((int) (hash >>> 32), usable);
    }
}
