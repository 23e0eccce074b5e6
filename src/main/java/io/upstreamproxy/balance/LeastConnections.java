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
 * <p>Beyond that, a sample, so that a pick costs the same at 1,000 servers as at 20: two
 * endpoints drawn at random in proportion to their weights (Envoy's least-request), the one
 * with fewer in flight per weight wins. When both have none in flight, the round-robin's next
 * endpoint joins and wins ties, so on an idle upstream the picks are exactly
 * {@code round-robin}'s, as with nginx. When they tie with requests in flight, a third draw
 * joins instead. Under load a pick is thus the best of two or three rather than the best of
 * all: a busy server still loses nearly every comparison, no pick reads every server's
 * counter, and only idle ties touch shared state (the round-robin's position, an atomic
 * counter that threads contend on).
 *
 * <p>The counters move while we read them; a pick is a best effort at that instant, as in nginx.
 */
final class LeastConnections<E extends Endpoint> implements Balancer<E> {
    /** Endpoints up to which every pick compares them all. */
    static final int EXACT_UP_TO = 16;
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
        E a = tieBreak.draw(options.random(), usable, now);
        E b = tieBreak.draw(options.random(), usable, now);
        if (a != null && b != null) {
            if (lighter(a, b, now)) {
                return a;
            }
            if (lighter(b, a, now)) {
                return b;
            }
            if (a.active() != 0) {
                // A tie under load: a third draw, not the round-robin, whose shared position
                // would make threads contend on the ties a busy upstream has often.
                E c = tieBreak.draw(options.random(), usable, now);
                return c != null && lighter(c, a, now) ? c : a;
            }
        }
        // Idle draws (or a draw that found nothing usable): the round-robin's turn, unless a draw is lighter.
        E drawn = a != null ? a : b;
        E turn = tieBreak.pick(usable, now);
        return turn == null || drawn != null && lighter(drawn, turn, now) ? drawn : turn;
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
