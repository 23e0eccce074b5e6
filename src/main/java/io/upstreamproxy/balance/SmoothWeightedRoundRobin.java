package io.upstreamproxy.balance;

import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

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
 * <p>Cost: flat in the number of servers while they are all usable and at full weight. Then
 * nginx's sequence is periodic, so each server list gets a {@link SmoothSchedule} of one cycle
 * (built by the first pick after an update), and a pick is an atomic increment of the
 * position, a table lookup and one usable check, with no lock. When the endpoint at the
 * position is not usable or not at its full weight (slow start, an agent's {@code N%}), the
 * pick falls back to nginx's walk over every server, O(n) under a lock per server list,
 * starting from the scores nginx would have at that position, so the walk continues the
 * sequence exactly. The first pick of every cycle walks too, to see every server once a cycle
 * (a cycle has at least n picks, so this adds at most one server's check per pick on
 * average). The walk goes on while it sees any server unusable or below full weight; the
 * first walk that finds every server usable and at full weight hands back to the schedule,
 * going on from just after the next turn of the server that walk picked.
 *
 * <p>What differs from nginx, and why: (1) a server that becomes unusable is noticed at its
 * next turn in the schedule or at the start of the next cycle, not at once (noticing at once
 * means asking every server on every pick, the O(n) this avoids); until then the picks follow
 * the schedule, which never hands the server a request it cannot take, but nginx would have
 * reordered the others a little. (2) Back on the schedule, the order resumes after the
 * picked server's turn rather than from the walk's scores, which may lie on another of the
 * sequence's cycles: around that seam a server may get one pick more or fewer than nginx would
 * give it, never a burst, and every full cycle after it is exact again. (Resuming at the
 * position reached instead could hand the server the walk just picked its turn again at once:
 * with two servers of equal weight, a b a b b a b a.) An update starts the sequence
 * afresh, as it did before. A server list whose cycle would be too long
 * ({@link SmoothSchedule#fits}) always walks.
 */
final class SmoothWeightedRoundRobin<E extends Endpoint> implements Balancer<E> {
    private final BalancerOptions options;
    private volatile Rotation<E> rotation = new Rotation<>(List.of());

    SmoothWeightedRoundRobin(BalancerOptions options) {
        this.options = options;
    }

    @Override
    public void update(List<E> endpoints) {
        rotation = new Rotation<>(endpoints);
    }

    @Override
    public E pick(RequestInfo request, Predicate<? super E> usable) {
        return pick(usable, options.nanoClock().getAsLong());
    }

    /** {@link #pick} at a time the caller has already read. */
    E pick(Predicate<? super E> usable, long now) {
        Rotation<E> r = rotation;
        if (r.endpoints.isEmpty()) {
            return null;
        }
        return r.pick(usable, now);
    }

    /**
     * One endpoint drawn at random in proportion to its weight, or null when the one drawn is
     * not usable, or is in slow start and loses the draw against its effective weight.
     * For {@link LeastConnections}: with a schedule, a random position of the cycle is such a
     * draw, O(1); without one, every endpoint is equally likely.
     */
    E draw(RandomGenerator random, Predicate<? super E> usable, long now) {
        Rotation<E> r = rotation;
        int n = r.endpoints.size();
        if (n == 0) {
            return null;
        }
        SmoothSchedule s = r.schedule();
        int i = s != null ? s.at(random.nextInt(s.length())) : random.nextInt(n);
        E e = r.endpoints.get(i);
        if (!usable.test(e)) {
            return null;
        }
        int effective = e.effectiveWeight(now);
        return effective < r.full[i] && random.nextInt(r.full[i]) >= effective ? null : e;
    }

    /** True while picks come from the schedule; for tests. */
    boolean onSchedule() {
        Rotation<E> r = rotation;
        return r.scheduled && r.scores == null;
    }

    /** One server list, its schedule (built on first use) and, while walking, nginx's scores. */
    private static final class Rotation<E extends Endpoint> {
        private static final int SLOT = 16;
        final List<E> endpoints;
        /** Each endpoint's weight at full strength, in effective-weight units. */
        final int[] full;
        /** Whether this list gets a schedule at all; false: every pick walks. */
        final boolean scheduled;
        /**
         * Picks so far, the schedule's position: the middle slot of an array of 32 longs, so
         * that no other object shares its cache line. Every pick on another core reads this
         * rotation's fields; a counter written next to them would evict those reads on each
         * pick (false sharing). 256 bytes per server list.
         */
        private final AtomicLongArray position = new AtomicLongArray(2 * SLOT);
        private volatile SmoothSchedule schedule;
        /**
         * nginx's scores while walking, null on the schedule. Read and written under the lock
         * on this rotation; volatile so that the schedule's path sees the switch without it.
         */
        private volatile long[] scores;

        Rotation(List<E> list) {
            endpoints = List.copyOf(list);
            full = new int[endpoints.size()];
            for (int i = 0; i < full.length; i++) {
                full[i] = endpoints.get(i).weight() * Endpoint.WEIGHT_SCALE;
            }
            scheduled = SmoothSchedule.fits(full);
            scores = scheduled ? null : new long[full.length];
        }

        /** The schedule, built by the first caller (the others wait for it); null when the list gets none. */
        SmoothSchedule schedule() {
            SmoothSchedule s = schedule;
            if (s == null && scheduled) {
                synchronized (this) {
                    s = schedule;
                    if (s == null) {
                        s = SmoothSchedule.of(full);
                        schedule = s;
                    }
                }
            }
            return s;
        }

        E pick(Predicate<? super E> usable, long now) {
            SmoothSchedule s = schedule();
            if (s == null) {
                return walk(s, 0, usable, now);
            }
            long k = position.getAndIncrement(SLOT);
            int j = s.cyclePosition(k);
            // The first pick of each cycle walks: it sees every server, so a change is noticed
            // there at the latest, at O(n) once per cycle of at least n picks.
            if (scores == null && j != 0) {
                int i = s.at(j);
                E e = endpoints.get(i);
                if (usable.test(e) && e.effectiveWeight(now) == full[i]) {
                    return e;
                }
            }
            return walk(s, k, usable, now);
        }

        /**
         * nginx's pick over every endpoint, from its scores at position {@code k} when the
         * walk starts here. The lock keeps the scores one sequence; it is held for a loop of
         * simple arithmetic, and only while something is unusable or ramping.
         */
        private synchronized E walk(SmoothSchedule s, long k, Predicate<? super E> usable, long now) {
            long[] sc = scores;
            if (sc == null) {
                sc = s.scoresAt(k, full);
                scores = sc;
            }
            int best = -1;
            long total = 0;
            boolean allFull = true;
            for (int i = 0; i < sc.length; i++) {
                E e = endpoints.get(i);
                if (!usable.test(e)) {
                    allFull = false;
                    continue;
                }
                int w = e.effectiveWeight(now);
                allFull &= w == full[i];
                sc[i] += w;
                total += w;
                if (best < 0 || sc[i] > sc[best]) {
                    best = i;
                }
            }
            if (best < 0) {
                return null;
            }
            sc[best] -= total;
            if (allFull && s != null) {
                // Go on from just after this server's next turn, so that the seam does not hand it a
                // second pick in a row. Skipped forward, never set: other threads' picks have moved
                // the position on meanwhile, and setting it back would repeat their turns.
                position.getAndAdd(SLOT, s.after(best, k) - (k + 1));
                scores = null;
            }
            return endpoints.get(best);
        }
    }
}
