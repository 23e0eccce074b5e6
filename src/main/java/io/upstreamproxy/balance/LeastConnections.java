package io.upstreamproxy.balance;

import java.util.List;
import java.util.function.Predicate;

/**
 * nginx's {@code least_conn}: the usable endpoint with the fewest requests in flight per unit
 * of (effective) weight; endpoints that tie are chosen among by smooth weighted round-robin,
 * so on an idle upstream it behaves exactly like {@code round-robin}. With a at 3 in flight
 * and b, c idle, weights 1,1,1: b c b c ... until a drains.
 *
 * <p>Cost: one lock-free O(n) pass reading the live counters; when several endpoints tie
 * (always, on an idle upstream), a second O(n) pass under the round-robin's own lock.
 * The counters move while we read them; a pick is a best effort at that instant, as in nginx.
 */
final class LeastConnections<E extends Endpoint> implements Balancer<E> {
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
        E chosen = tieBreak.pick(request, e -> usable.test(e) && e.active() * w == a * e.effectiveWeight(now));
        // The counters moved between the passes and no endpoint ties any more: keep the first pass's answer.
        return chosen != null ? chosen : best;
    }
}
