package io.upstreamproxy.balance;

import java.util.List;
import java.util.function.Predicate;

/**
 * nginx's smooth weighted round-robin. Each pick adds every usable endpoint's weight to its
 * running score, takes the highest score and subtracts the total of the weights added. Weights
 * 5,1,1 for a,b,c give {@code a a b a c a a}, then repeat: heavy servers are spread out rather
 * than hit in bursts. An endpoint that is not usable is skipped and its score left alone, as
 * nginx does, so it rejoins the rotation smoothly.
 *
 * <p>Weights are the endpoints' effective weights, so a server in slow start gets a growing
 * share. {@code least-conn} and the hashing balancers' fallback reuse this class.
 *
 * <p>Cost: O(n) per pick under a lock per balancer (not a global one): the scores are one
 * shared sequence, and the lock is held for a loop of simple arithmetic. The list itself is
 * an immutable snapshot swapped whole by {@link #update}; an update starts all scores at 0.
 */
final class SmoothWeightedRoundRobin<E extends Endpoint> implements Balancer<E> {
    private final BalancerOptions options;
    private volatile Scores<E> scores = new Scores<>(List.of());

    SmoothWeightedRoundRobin(BalancerOptions options) {
        this.options = options;
    }

    /** The endpoints and their running scores; replaced whole on update. */
    private record Scores<E>(List<E> endpoints, long[] scores) {
        Scores(List<E> endpoints) {
            this(List.copyOf(endpoints), new long[endpoints.size()]);
        }
    }

    @Override
    public void update(List<E> endpoints) {
        scores = new Scores<>(endpoints);
    }

    @Override
    public E pick(RequestInfo request, Predicate<? super E> usable) {
        Scores<E> r = scores;
        int n = r.endpoints.size();
        if (n == 0) {
            return null;
        }
        long now = options.nanoClock().getAsLong();
        synchronized (r) {
            int best = -1;
            long total = 0;
            for (int i = 0; i < n; i++) {
                E e = r.endpoints.get(i);
                if (!usable.test(e)) {
                    continue;
                }
                int w = e.effectiveWeight(now);
                r.scores[i] += w;
                total += w;
                if (best < 0 || r.scores[i] > r.scores[best]) {
                    best = i;
                }
            }
            if (best < 0) {
                return null;
            }
            r.scores[best] -= total;
            return r.endpoints.get(best);
        }
    }
}
