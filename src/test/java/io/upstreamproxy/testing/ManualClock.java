package io.upstreamproxy.testing;

import io.upstreamproxy.upstream.Clock;
import java.time.Duration;

/** A {@link Clock} that moves only when a test says so. */
public final class ManualClock implements Clock {
    private volatile long nanos = 1_000_000_000L;
    private volatile long wallMillis = 1_700_000_000_000L;

    @Override
    public long nanos() {
        return nanos;
    }

    @Override
    public long wallMillis() {
        return wallMillis;
    }

    public void advance(Duration d) {
        nanos += d.toNanos();
        wallMillis += d.toMillis();
    }
}
