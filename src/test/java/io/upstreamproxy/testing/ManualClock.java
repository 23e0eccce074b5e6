package io.upstreamproxy.testing;

import io.upstreamproxy.upstream.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when a test says so. Starts at an arbitrary, negative nanoTime-like value. */
public final class ManualClock implements Clock {
    private final AtomicLong nanos = new AtomicLong(-5_000_000_000L);
    private final AtomicLong wallMillis = new AtomicLong(1_700_000_000_000L);

    @Override
    public long nanos() {
        return nanos.get();
    }

    @Override
    public long wallMillis() {
        return wallMillis.get();
    }

    public void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
        wallMillis.addAndGet(d.toMillis());
    }
}
