package io.upstreamproxy.proxy;

import io.upstreamproxy.config.HostPort;

/** What end-to-end tests in other packages may read of an engine's HTTP/2 stream pools. */
public final class StreamPools {
    private StreamPools() {}

    /** Requests waiting for a stream on the h2c connections to {@code address}; 0 while it has no pool. */
    public static int queued(ProxyEngine engine, String address) {
        StreamPool pool = engine.streams().existingPool(HostPort.parse(address));
        return pool == null ? 0 : pool.counts()[2];
    }
}
