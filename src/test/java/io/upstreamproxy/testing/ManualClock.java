package io.upstreamproxy.testing;

import io.upstreamproxy.upstream.Clock;
import java.time.Duration;

/** A clock tests move by hand. Starts at an arbitrary, negative nano time to catch overflow mistakes. */
public final class ManualClock implements Clock {
    private volatile long nanos = -5_000_000_000L;
    private volatile long wall = 1_700_000_000_000L;

    @Override
    public long nanos() {
        return nanos;
    }

    @Override
    public long wallMillis() {
        return wall;
    }

    public void advance(Duration d) {
        nanos += d.toNanos();
        wall += d.toMillis();
    }
}
