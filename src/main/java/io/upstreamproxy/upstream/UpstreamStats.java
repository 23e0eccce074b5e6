package io.upstreamproxy.upstream;

import java.util.concurrent.atomic.LongAdder;

/**
 * An upstream's own counters (the servers keep theirs): requests retried elsewhere, requests no
 * server could take, and what its overload protection did (SPEC §13): requests refused by a full
 * queue, by a queue timeout or by {@code max_requests}/{@code max_pending}, the time queued
 * requests waited, retries the budget refused.
 */
public final class UpstreamStats {
    private final LongAdder retries = new LongAdder();
    private final LongAdder noEligible = new LongAdder();
    private final LongAdder queueFull = new LongAdder();
    private final LongAdder queueTimeouts = new LongAdder();
    private final LongAdder overloaded = new LongAdder();
    private final LongAdder budgetExhausted = new LongAdder();
    private final LongAdder waits = new LongAdder();
    private final LongAdder waitNanos = new LongAdder();

    /** A request failed on one server and was sent to another. */
    public void retried() {
        retries.increment();
    }

    /** A request found no eligible server (503). */
    public void noEligible() {
        noEligible.increment();
    }

    /** A request found the queue full (503 QueueFull). */
    public void queueFull() {
        queueFull.increment();
    }

    /** A queued request waited out the queue's timeout (503 QueueTimeout). */
    public void queueTimedOut() {
        queueTimeouts.increment();
    }

    /** A request met {@code max_requests} or {@code max_pending} (503 UpstreamOverloaded). */
    public void overloaded() {
        overloaded.increment();
    }

    /** A retry the retry budget refused. */
    public void budgetExhausted() {
        budgetExhausted.increment();
    }

    /** A queued request left the queue (admitted, timed out or gone) after {@code nanos}. */
    public void waited(long nanos) {
        waits.increment();
        waitNanos.add(Math.max(0, nanos));
    }

    public long retries() {
        return retries.sum();
    }

    public long noEligibleCount() {
        return noEligible.sum();
    }

    public long queueFullCount() {
        return queueFull.sum();
    }

    public long queueTimeoutCount() {
        return queueTimeouts.sum();
    }

    public long overloadedCount() {
        return overloaded.sum();
    }

    public long budgetExhaustedCount() {
        return budgetExhausted.sum();
    }

    /** Requests that left the queue, however. */
    public long waitCount() {
        return waits.sum();
    }

    /** Their time in the queue, summed. */
    public long waitNanos() {
        return waitNanos.sum();
    }
}
