package io.upstreamproxy.upstream;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * A server's live counters. Written on every proxied request by many threads, read rarely
 * (API, status page), so totals are {@link LongAdder}s (no contended CAS on the hot path);
 * {@code active} is an exact {@link AtomicInteger} because max_conns and least-conn compare it.
 */
public final class ServerStats {
    private final AtomicInteger active = new AtomicInteger();
    private final LongAdder requests = new LongAdder();
    private final LongAdder[] responses = {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()};
    private final LongAdder fails = new LongAdder();
    private final LongAdder unavail = new LongAdder();
    private final LongAdder sent = new LongAdder();
    private final LongAdder received = new LongAdder();
    private final MovingAverage responseTime = new MovingAverage();
    private final MovingAverage headerTime = new MovingAverage();
    private volatile long selectedMillis;

    /** A request was sent to this server. */
    void started(long wallMillis) {
        active.incrementAndGet();
        requests.increment();
        selectedMillis = wallMillis;
    }

    /** As {@link #started}, only while fewer than {@code limit} are active (0: no limit); false, counting nothing, at the limit. */
    boolean tryStart(int limit, long wallMillis) {
        if (limit <= 0) {
            started(wallMillis);
            return true;
        }
        for (int n = active.get(); ; n = active.get()) {
            if (n >= limit) {
                return false;
            }
            if (active.compareAndSet(n, n + 1)) {
                requests.increment();
                selectedMillis = wallMillis;
                return true;
            }
        }
    }

    /** A request to this server ended, with the response status (0 when there was none). */
    void ended(int status) {
        active.decrementAndGet();
        int klass = status / 100;
        if (klass >= 1 && klass <= 5) {
            responses[klass - 1].increment();
        }
    }

    /** A response ended: its times (to the headers, to the last byte) and the body bytes each way. */
    void timed(long nowNanos, long headerNanos, long responseNanos, long sentBytes, long receivedBytes) {
        headerTime.add(headerNanos, nowNanos);
        responseTime.add(responseNanos);
        if (sentBytes > 0) {
            sent.add(sentBytes);
        }
        if (receivedBytes > 0) {
            received.add(receivedBytes);
        }
    }

    void failed() {
        fails.increment();
    }

    void becameUnavailable() {
        unavail.increment();
    }

    public int active() {
        return active.get();
    }

    public long requests() {
        return requests.sum();
    }

    /** Responses with status {@code klass}xx, klass 1..5. */
    public long responses(int klass) {
        return responses[klass - 1].sum();
    }

    public long responsesTotal() {
        long t = 0;
        for (LongAdder a : responses) {
            t += a.sum();
        }
        return t;
    }

    public long fails() {
        return fails.sum();
    }

    /** How many times the server became unavailable through max_fails. */
    public long unavail() {
        return unavail.sum();
    }

    /** Body bytes sent to this server. */
    public long sent() {
        return sent.sum();
    }

    /** Body bytes received from this server. */
    public long received() {
        return received.sum();
    }

    /** Moving average of the time to the last response byte. */
    public MovingAverage responseTime() {
        return responseTime;
    }

    /** Moving average of the time to the response headers. */
    public MovingAverage headerTime() {
        return headerTime;
    }

    /** Wall time of the last selection in ms, 0 when never selected. */
    public long selectedMillis() {
        return selectedMillis;
    }
}
