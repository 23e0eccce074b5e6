package io.upstreamproxy.proxy;

import java.util.concurrent.atomic.AtomicLong;

/**
 * How much heap all request bodies still arriving may take together while they are buffered
 * ({@code proxy.buffer_body}): without a bound, thousands of clients that each send most of a
 * 64 KiB body and then stall would fill the heap. Past the budget a body is refused with 503
 * (nobody's fault, not retried) instead; the heap stays the other requests'. One atomic add
 * per growth of a buffer (4 KiB, then doubling), so the cost is a handful of adds per body.
 */
final class BodyBudget {
    /** A quarter of the heap: 64 MiB with the README's production heap of 256 MiB. */
    static final BodyBudget SHARED = new BodyBudget(Runtime.getRuntime().maxMemory() / 4);

    private final long limit;
    private final AtomicLong used = new AtomicLong();

    BodyBudget(long limit) {
        this.limit = limit;
    }

    boolean reserve(int bytes) {
        if (used.addAndGet(bytes) <= limit) {
            return true;
        }
        used.addAndGet(-bytes);
        return false;
    }

    void release(int bytes) {
        used.addAndGet(-bytes);
    }

    long used() {
        return used.get();
    }

    /** A body refused because the budget is spent. */
    static final class Exhausted extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        Exhausted() {
            super("too many request bodies being received at once (a quarter of the heap is spent on them)");
        }
    }
}
