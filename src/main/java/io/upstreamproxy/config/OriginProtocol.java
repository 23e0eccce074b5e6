package io.upstreamproxy.config;

import java.util.List;

/**
 * How the proxy speaks to an upstream's servers: {@code "protocol"} HTTP/1.1 (one exchange per
 * connection at a time, the default), {@code h2c} (HTTP/2 in clear text, prior knowledge) or
 * {@code h2} (HTTP/2 over TLS, agreed by ALPN, with the upstream's {@code tls}); with HTTP/2 up to {@code max_concurrent_streams}
 * requests share one connection, and a new connection opens only when those are full.
 */
public record OriginProtocol(String name, int maxConcurrentStreams) {
    public static final String HTTP1 = "http/1.1";
    public static final String H2C = "h2c";
    public static final String H2 = "h2";
    public static final List<String> NAMES = List.of(HTTP1, H2C, H2);
    /** As nginx's {@code http2_max_concurrent_streams} and the RFC's suggested minimum. */
    public static final int DEFAULT_STREAMS = 100;
    public static final OriginProtocol DEFAULT = new OriginProtocol(HTTP1, DEFAULT_STREAMS);

    /** True when requests share connections as HTTP/2 streams. */
    public boolean multiplexed() {
        return !HTTP1.equals(name);
    }

    /**
     * Reads {@code "protocol"} and {@code "max_concurrent_streams"} of an upstream; {@code tls}
     * and {@code sendProxyProtocol} say whether the upstream has those set, which h2 needs and
     * h2c and HTTP/2's shared connections refuse.
     */
    static OriginProtocol read(JsonFields u, boolean tls, String sendProxyProtocol) {
        String name = u.string("protocol", HTTP1);
        if (!NAMES.contains(name)) {
            throw new ConfigException(u.pathOf("protocol"), "\"" + name + "\" (expected: \"http/1.1\", \"h2c\" or \"h2\")");
        }
        int streams = u.integer("max_concurrent_streams", DEFAULT_STREAMS, 1, 10_000);
        if (H2.equals(name) && !tls) {
            throw new ConfigException(u.pathOf("protocol"), "\"h2\" (expected: a \"tls\" block with it; \"h2c\" is HTTP/2 in clear text)");
        }
        if (H2C.equals(name) && tls) {
            throw new ConfigException(u.pathOf("protocol"), "\"h2c\" (expected: \"h2\" with a \"tls\" block; h2c is clear text)");
        }
        if (!HTTP1.equals(name) && sendProxyProtocol != null) {
            throw new ConfigException(u.pathOf("send_proxy_protocol"), "\"" + sendProxyProtocol
                    + "\" (expected: none with protocol \"" + name + "\": its connections carry many clients' requests, a PROXY header names one)");
        }
        return new OriginProtocol(name, streams);
    }
}
