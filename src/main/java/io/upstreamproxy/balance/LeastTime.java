package io.upstreamproxy.balance;

/**
 * NGINX Plus's {@code least_time header}, made flat in the number of servers: draw two
 * different usable endpoints by effective weight (as {@link RandomTwo}, so slow start and
 * weights shape the draw) and send to the one with the lower expected wait,
 * {@code (in flight + 1) x recent header time / effective weight}.
 *
 * <p>Example: a answers in 2 ms with 3 in flight, b in 10 ms with none, weights 1, 1:
 * a costs 4 x 2 = 8, b costs 1 x 10 = 10, so a; with 5 in flight a costs 12 and b wins.
 * An endpoint with no measured time yet costs almost nothing and is tried at once.
 *
 * <p>The recent time is each endpoint's moving average ({@link Endpoint#headerNanos}), which
 * halves for every 10 s without a response: a server that was slow once and then got no
 * traffic (with two servers, the faster one wins every idle pick) is tried again soon, and its
 * next response tells the truth, instead of being starved on an old number.
 *
 * <p>Cost: two O(log n) weighted draws and one comparison, no lock, like random-two.
 */
final class LeastTime<E extends Endpoint> extends RandomTwo<E> {
    /** Added to every time so that unmeasured endpoints still compare by their in-flight counts. */
    private static final double FLOOR_NANOS = 1_000;

    LeastTime(BalancerOptions options) {
        super(options, true);
    }

    @Override
    boolean lighter(E a, E b, long now) {
        // doubles: in flight x nanoseconds x weight overflows a long for slow servers under load
        double costA = (a.active() + 1) * (a.headerNanos() + FLOOR_NANOS) * b.effectiveWeight(now);
        double costB = (b.active() + 1) * (b.headerNanos() + FLOOR_NANOS) * a.effectiveWeight(now);
        return costA < costB;
    }
}
