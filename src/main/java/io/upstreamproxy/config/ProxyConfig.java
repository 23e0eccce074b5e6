package io.upstreamproxy.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The whole checked configuration. Built once by {@link ConfigLoader}; nothing in it changes
 * afterwards (run-time changes live in the upstream registry and the state file).
 */
public record ProxyConfig(Path source, Listen listen, Map<String, UpstreamConfig> upstreams,
                          List<Route> routes, Api api, Status status, State state, Proxy proxy) {

    /** Where the embedded server listens. */
    public record Listen(String host, int port) {}

    /** A path prefix and the upstream it goes to; the longest matching prefix wins. */
    public record Route(String path, String upstream) {}

    /** Where the management API lives and who may use it. */
    public record Api(String path, List<Cidr> allow, List<Cidr> deny, String token,
                      boolean readOnly, int maxBodyBytes, List<Cidr> trustedProxies) {}

    /** Where the status page lives. */
    public record Status(String path) {}

    /** Where run-time changes are kept; null file: not kept. */
    public record State(Path file) {}

    /**
     * How the proxy talks to upstream servers and what it accepts from clients (applies to every
     * upstream). {@code maxHeaderBytes}: the largest request head (request line and headers) the
     * listener accepts, and so the largest the proxy forwards; {@code clientHeaderTimeout} and
     * {@code clientBodyTimeout}: how long a client may stay silent while sending them;
     * {@code maxBodyBytes}: 0 = unlimited; {@code backlog}: the listener's accept queue.
     */
    public record Proxy(Duration connectTimeout, Duration readTimeout, int bufferBodyBytes,
                        int maxConnectionsPerServer, int maxQueuedPerServer,
                        int maxHeaderBytes, Duration clientHeaderTimeout, Duration clientBodyTimeout,
                        long maxBodyBytes, int backlog) {

        /** The upstream side only, with the client-side limits at their defaults. */
        public Proxy(Duration connectTimeout, Duration readTimeout, int bufferBodyBytes,
                     int maxConnectionsPerServer, int maxQueuedPerServer) {
            this(connectTimeout, readTimeout, bufferBodyBytes, maxConnectionsPerServer, maxQueuedPerServer,
                    8 << 10, Duration.ofSeconds(60), Duration.ofSeconds(60), 0, 511);
        }
    }

    /** One named group of servers. {@code retries} -1 means: until each server was tried once. */
    public record UpstreamConfig(String name, String balancer, String hashKey, int retries,
                                 List<ServerConfig> servers, HealthCheckConfig healthCheck) {}

    /** The same configuration listening elsewhere (the {@code --port} override). */
    public ProxyConfig withPort(int port) {
        return new ProxyConfig(source, new Listen(listen.host(), port), upstreams, routes, api, status, state, proxy);
    }
}
