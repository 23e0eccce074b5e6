package io.upstreamproxy.testing;

import io.grpc.ManagedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The proxy with an h2c listener in front of one upstream, {@code grpc}, with
 * {@code "protocol": "h2c"}, a plaintext gRPC channel to it, and whatever else a test opened,
 * all closed in reverse order.
 */
public final class GrpcFixture implements AutoCloseable {
    private final List<AutoCloseable> open = new ArrayList<>();
    public ManagedChannel channel;

    /** Closes {@code c} with the rest. */
    public <T extends AutoCloseable> T add(T c) {
        open.add(c);
        return c;
    }

    /** The proxy, {@code servers} being the JSON objects of the upstream's server list ('' quotes allowed). */
    public RunningProxy proxy(String servers) throws Exception {
        return proxy(servers, "'protocol': 'h2c'", null);
    }

    /** The same with other upstream keys than {@code "protocol": "h2c"} (TLS: h2 and a tls block), relative files beside {@code source}. */
    public RunningProxy proxy(String servers, String upstreamKeys, java.nio.file.Path source) throws Exception {
        RunningProxy p = add(RunningProxy.start(("{'listen': {'host': '127.0.0.1', 'port': 0, 'http2': true},"
                + " 'upstreams': {'grpc': {" + upstreamKeys + ", 'servers': [" + servers + "]}}}").replace('\'', '"'), source));
        channel = GrpcEcho.channel(p.port());
        return p;
    }

    @Override
    public void close() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }
}
