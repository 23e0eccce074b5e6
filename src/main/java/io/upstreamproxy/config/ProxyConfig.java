package io.upstreamproxy.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The whole checked configuration. Built once by {@link ConfigLoader}; nothing in it changes
 * afterwards (run-time changes live in the upstream registry and the state file).
 */
public record ProxyConfig(Path source, List<Listen> listeners, Map<String, UpstreamConfig> upstreams,
                          List<Route> routes, Api api, Status status, State state, Proxy proxy) {

    /** One listener only (the shape before {@code listen} could be an array). */
    public ProxyConfig(Path source, Listen listen, Map<String, UpstreamConfig> upstreams,
                       List<Route> routes, Api api, Status status, State state, Proxy proxy) {
        this(source, List.of(listen), upstreams, routes, api, status, state, proxy);
    }

    /** The first listener: the one {@code --port} changes and the banner shows. */
    public Listen listen() {
        return listeners.get(0);
    }

    /** Where the embedded server listens; {@code tls} null: plain HTTP. */
    public record Listen(String host, int port, boolean http2, ListenTls tls) {
        public Listen(String host, int port) {
            this(host, port, false, null);
        }

        public Listen withPort(int p) {
            return new Listen(host, p, http2, tls);
        }
    }

    /**
     * A TLS listener's PEM files (absolute), and how often they are checked for a renewed pair.
     */
    public record ListenTls(Path cert, Path key, Duration checkInterval) {}

    /**
     * TLS to an upstream's servers. {@code ca} null: the system trust store; {@code serverName}
     * null: each server's host; {@code cert}/{@code key} null: no client certificate.
     */
    public record UpstreamTls(boolean verify, Path ca, String serverName, Path cert, Path key) {}

    /** A path prefix and the upstream it goes to; the longest matching prefix wins. */
    public record Route(String path, String upstream) {}

    /** Where the management API lives and who may use it. */
    public record Api(String path, List<Cidr> allow, List<Cidr> deny, String token,
                      boolean readOnly, int maxBodyBytes, List<Cidr> trustedProxies) {}

    /** Where the status page lives. */
    public record Status(String path) {}

    /** Where run-time changes are kept; null file: not kept. */
    public record State(Path file) {}

    /** How the proxy talks to upstream servers (applies to every upstream). */
    public record Proxy(Duration connectTimeout, Duration readTimeout, int bufferBodyBytes,
                        int maxConnectionsPerServer, int maxQueuedPerServer, Duration websocketIdleTimeout) {
        public static final Duration DEFAULT_WEBSOCKET_IDLE = Duration.ofHours(1);

        public Proxy(Duration connectTimeout, Duration readTimeout, int bufferBodyBytes,
                     int maxConnectionsPerServer, int maxQueuedPerServer) {
            this(connectTimeout, readTimeout, bufferBodyBytes, maxConnectionsPerServer, maxQueuedPerServer, DEFAULT_WEBSOCKET_IDLE);
        }
    }

    /**
     * One named group of servers. {@code retries} -1 means: until each server was tried once.
     * {@code tls} null: plain HTTP to the servers.
     */
    public record UpstreamConfig(String name, String balancer, String hashKey, int retries,
                                 List<ServerConfig> servers, HealthCheckConfig healthCheck, UpstreamTls tls) {
        public UpstreamConfig(String name, String balancer, String hashKey, int retries,
                              List<ServerConfig> servers, HealthCheckConfig healthCheck) {
            this(name, balancer, hashKey, retries, servers, healthCheck, null);
        }
    }

    /** The same configuration with the first listener on another port (the {@code --port} override). */
    public ProxyConfig withPort(int port) {
        List<Listen> moved = new java.util.ArrayList<>(listeners);
        moved.set(0, listeners.get(0).withPort(port));
        return new ProxyConfig(source, List.copyOf(moved), upstreams, routes, api, status, state, proxy);
    }
}
