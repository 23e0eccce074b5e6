package io.upstreamproxy.balance;

import java.util.List;
import java.util.function.Predicate;

/**
 * nginx's {@code least_conn}: the usable endpoint with the fewest requests in flight per unit
 * of (effective) weight; endpoints that tie are chosen among by smooth weighted round-robin,
 * so on an idle upstream it behaves exactly like {@code round-robin}. With a at 3 in flight
 * and b, c idle, weights 1,1,1: b c b c ... until a drains.
 *
 * <p>Exact up to {@value #EXACT_UP_TO} endpoints: one lock-free O(n) pass reading the live
 * counters, then the round-robin among those that tie (flat while all tie, see
 * {@link SmoothWeightedRoundRobin}).
 *
 * <p>Beyond that, a sample, so that a pick costs the same at 1,000 servers as at 20: the
 * candidates are the round-robin's next endpoint and {@value #DRAWS} endpoints drawn at random
 * in proportion to their weights, and the one with the fewest in flight per weight wins, the
 * round-robin's on a tie. On an idle upstream every candidate ties, so the picks are exactly
 * {@code round-robin}'s, as with nginx; under load the pick is the best of three rather than
 * the best of all (Envoy's least-request does the same with two random draws): a busy server
 * still loses nearly every comparison, and no pick reads every server's counter.
 *
 * <p>The counters move while we read them; a pick is a best effort at that instant, as in nginx.
 */
final class LeastConnections<E extends Endpoint> implements Balancer<E> {
    /** Endpoints up to which every pick compares them all. */
    static final int EXACT_UP_TO = 16;
    /** Random candidates beside the round-robin's, past {@link #EXACT_UP_TO}. */
    static final int DRAWS = 2;

    private final BalancerOptions options;
    private final SmoothWeightedRoundRobin<E> tieBreak;
    private volatile List<E> endpoints = List.of();

    LeastConnections(BalancerOptions options) {
        this.options = options;
        this.tieBreak = new SmoothWeightedRoundRobin<>(options);
    }

    @Override
    public void update(List<E> list) {
        endpoints = List.copyOf(list);
        tieBreak.update(list);
    }

    @Override
    public E pick(RequestInfo request, Predicate<? super E> usable) {
        List<E> list = endpoints;
        if (list.isEmpty()) {
            return null;
        }
        long now = options.nanoClock().getAsLong();
        return list.size() <= EXACT_UP_TO ? exact(list, usable, now) : sampled(usable, now);
    }

    private E sampled(Predicate<? super E> usable, long now) {
        E best = tieBreak.pick(usable, now);
        if (best == null) {
            return null;
        }
        for (int d = 0; d < DRAWS; d++) {
            E e = tieBreak.draw(options.random(), usable, now);
            if (e != null && lighter(e, best, now)) {
                best = e;
            }
        }
        return best;
    }

    /** Fewer in flight per weight: a.active/a.weight < b.active/b.weight, without division. */
    private static boolean lighter(Endpoint a, Endpoint b, long now) {
        return a.active() * (long) b.effectiveWeight(now) < b.active() * (long) a.effectiveWeight(now);
    }

    private E exact(List<E> list, Predicate<? super E> usable, long now) {
        E best = null;
        long bestActive = 0;
        long bestWeight = 1;
        int ties = 0;
        for (E e : list) {
            if (!usable.test(e)) {
                continue;
            }
            long active = e.active();
            long weight = e.effectiveWeight(now);
            // active/weight < bestActive/bestWeight, without division
            long cmp = best == null ? -1 : Long.compare(active * bestWeight, bestActive * weight);
            if (cmp < 0) {
                best = e;
                bestActive = active;
                bestWeight = weight;
                ties = 1;
            } else if (cmp == 0) {
                ties++;
            }
        }
        if (ties <= 1) {
            return best;
        }
        long a = bestActive;
        long w = bestWeight;
        E chosen = tieBreak.pick(e -> usable.test(e) && e.active() * w == a * e.effectiveWeight(now), now);
        // The counters moved between the passes and no endpoint ties any more: keep the first pass's answer.
        return chosen != null ? chosen : best;
    }
}
