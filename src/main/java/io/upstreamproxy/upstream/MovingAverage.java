package io.upstreamproxy.upstream;

/**
 * An exponentially weighted moving average of durations in nanoseconds: each sample moves the
 * average 1/8 of the way towards it (TCP's smoothed round-trip time uses the same weight), so
 * it follows the last few dozen responses. With samples 80, 0, 0 ms: 80, 70, 61.25 ms.
 *
 * <p>Memory ordering: a plain read-modify-write of one volatile field, no CAS loop. Two
 * responses ending at the same instant may lose one of the two updates; for an average of
 * recent samples that is harmless, and it keeps the request path free of contended retries.
 */
public final class MovingAverage {
    private static final int SHIFT = 3; // weight 1/8
    private static final long HALF_LIFE_NANOS = 10_000_000_000L;
    private volatile long nanos = -1;   // -1: no sample yet
    private volatile long lastSampleNanos;

    /** Adds one sample (negative samples are ignored). */
    public void add(long sampleNanos) {
        if (sampleNanos < 0) {
            return;
        }
        long prev = nanos;
        nanos = prev < 0 ? sampleNanos : prev + ((sampleNanos - prev) >> SHIFT);
    }

    /** Adds one sample taken at monotonic time {@code nowNanos} (see {@link #decayed}). */
    public void add(long sampleNanos, long nowNanos) {
        lastSampleNanos = nowNanos;
        add(sampleNanos);
    }

    /**
     * The average halved for every 10 s since the last sample (a balancer's view: an old
     * number should not keep a server out of traffic for good); 0 before the first sample.
     */
    public long decayed(long nowNanos) {
        long n = nanos;
        if (n <= 0) {
            return 0;
        }
        long halvings = (nowNanos - lastSampleNanos) / HALF_LIFE_NANOS;
        return halvings <= 0 ? n : halvings >= 63 ? 0 : n >> halvings;
    }

    /** The average in nanoseconds, 0 before the first sample. */
    public long nanos() {
        long n = nanos;
        return n < 0 ? 0 : n;
    }

    /** True once a sample was added. */
    public boolean hasSamples() {
        return nanos >= 0;
    }
}
