package io.upstreamproxy.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The whole checked configuration. Built once by {@link ConfigLoader}; nothing in it changes
 * afterwards (run-time changes live in the upstream registry and the state file).
 */
public record ProxyConfig(Path source, List<Listen> listeners, Map<String, UpstreamConfig> upstreams,
                          List<Route> routes, Api api, Status status, State state, Proxy proxy,
                          HostPort resolver, Observe observe, FleetConfig fleet, Shutdown shutdown) {

    /** What the proxy tells operators: {@code metrics}, {@code access_log}, {@code log}. */
    public record Observe(Metrics metrics, AccessLog accessLog, String logLevel) {
        public static final Observe DEFAULT = new Observe(Metrics.DEFAULT, AccessLog.DEFAULT, null);
    }

    /** Where {@code GET /metrics} answers and who may scrape it (the API token applies too). */
    public record Metrics(String path, List<Cidr> allow, List<Cidr> deny) {
        public static final Metrics DEFAULT = new Metrics("/metrics",
                List.of(Cidr.parse("127.0.0.1"), Cidr.parse("::1")), List.of(Cidr.parse("all")));
    }

    /** The access log: {@code format} default, combined or json; {@code file} null for stderr. */
    public record AccessLog(String format, Path file) {
        public static final List<String> FORMATS = List.of("default", "combined", "json");
        public static final AccessLog DEFAULT = new AccessLog("default", null);
    }

    /** The first listener: the one {@code --port} changes and the banner shows. */
    public Listen listen() {
        return listeners.get(0);
    }

    /**
     * Where the embedded server listens; {@code tls} null: plain HTTP. {@code proxyProtocol}
     * null: clients connect directly; else the peers allowed to send a PROXY protocol header,
     * which every connection must then start with. {@code reusePort}: bind with SO_REUSEPORT, so
     * a new process can listen beside this one during a hand-over (docs/operations.md).
     * {@code name}: what a route's {@code listen} matcher names it by, or null.
     */
    public record Listen(String host, int port, boolean http2, ListenTls tls, ProxyProtocol proxyProtocol, boolean reusePort, String name) {
        public Listen(String host, int port, boolean http2, ListenTls tls, ProxyProtocol proxyProtocol, boolean reusePort) {
            this(host, port, http2, tls, proxyProtocol, reusePort, null);
        }

        public Listen(String host, int port) {
            this(host, port, false, null, null, false);
        }

        public Listen(String host, int port, boolean http2, ListenTls tls) {
            this(host, port, http2, tls, null, false);
        }

        public Listen withPort(int p) {
            return new Listen(host, p, http2, tls, proxyProtocol, reusePort, name);
        }
    }

    /** {@code listen.proxy_protocol}: the balancers in front (addresses or blocks) whose PROXY header (v1 or v2) is believed. */
    public record ProxyProtocol(List<Cidr> trusted) {}

    /**
     * {@code shutdown}: on SIGTERM {@code /api/ready} answers 503 for {@code delay} while
     * everything else goes on (an outer balancer stops sending), then the listeners close and
     * requests in flight have until {@code timeout} to finish; a keep-alive connection with no
     * request in flight stays open {@code idleTimeout} from the listeners' close for its client's
     * next request (answered with {@code Connection: close}), then closes.
     */
    public record Shutdown(Duration delay, Duration timeout, Duration idleTimeout) {
        public static final Shutdown DEFAULT = new Shutdown(Duration.ZERO, Duration.ofSeconds(30), Duration.ofSeconds(1));
    }

    /**
     * A TLS listener's PEM pairs (absolute paths), chosen by the client's SNI name, the first for
     * a name none of them covers (or no name); and how often the files are checked for renewals.
     */
    public record ListenTls(List<CertKey> certificates, Duration checkInterval) {
        public ListenTls(Path cert, Path key, Duration checkInterval) {
            this(List.of(new CertKey(cert, key)), checkInterval);
        }

        /** The first (default) certificate file. */
        public Path cert() {
            return certificates.get(0).cert();
        }

        /** The first (default) key file. */
        public Path key() {
            return certificates.get(0).key();
        }
    }

    /** A certificate chain and its private key, PEM files. */
    public record CertKey(Path cert, Path key) {}

    /**
     * TLS to an upstream's servers. {@code ca} null: the system trust store; {@code serverName}
     * null: each server's host; {@code cert}/{@code key} null: no client certificate.
     */
    public record UpstreamTls(boolean verify, Path ca, String serverName, Path cert, Path key) {}

    /**
     * One entry of {@code routes}: when it applies, what it does, and what it changes on the
     * way (SPEC §12). {@code index}: its place in the file, as errors and {@code /api/routes} name it.
     */
    public record Route(int index, RouteMatch match, RouteAction action, RoutePolicy policy) {
        /** A path prefix to an upstream: the route of §3, and of a config with no {@code routes}. */
        public Route(String path, String upstream) {
            this(0, new RouteMatch(List.of(), path, List.of(), Map.of(), Map.of(), List.of()),
                    new RouteAction.Forward(upstream), RoutePolicy.NONE);
        }

        /** The path matcher as written, or null. */
        public String path() {
            return match.path();
        }

        /** The upstream of a plain route, or null (a split, a redirect, a return). */
        public String upstream() {
            return action instanceof RouteAction.Forward f ? f.upstream() : null;
        }

        /** Every upstream the route may send to (none for a redirect or a return). */
        public List<String> upstreams() {
            if (action instanceof RouteAction.Forward f) {
                return List.of(f.upstream());
            }
            if (action instanceof RouteAction.Split s) {
                return s.shares().stream().map(RouteAction.Share::upstream).toList();
            }
            return List.of();
        }
    }

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
     * {@code maxBodyBytes}: 0 = unlimited; {@code backlog}: the listener's accept queue;
     * {@code websocketIdleTimeout}: how long a relayed WebSocket may stay silent both ways.
     */
    public record Proxy(Duration connectTimeout, Duration readTimeout, int bufferBodyBytes,
                        int maxConnectionsPerServer, int maxQueuedPerServer,
                        int maxHeaderBytes, Duration clientHeaderTimeout, Duration clientBodyTimeout,
                        long maxBodyBytes, int backlog, Duration websocketIdleTimeout, Duration upstreamIdleTimeout) {
        public static final Duration DEFAULT_WEBSOCKET_IDLE = Duration.ofHours(1);
        /**
         * How long a pooled connection to a server may sit idle: below the 5 s keep-alive
         * timeout common in application servers (Node.js, Go, Gunicorn), so the proxy closes an
         * idle connection before the server does and never sends on one the server is closing.
         */
        public static final Duration DEFAULT_UPSTREAM_IDLE = Duration.ofSeconds(4);

        /** The upstream side only, with the client-side limits at their defaults. */
        public Proxy(Duration connectTimeout, Duration readTimeout, int bufferBodyBytes,
                     int maxConnectionsPerServer, int maxQueuedPerServer) {
            this(connectTimeout, readTimeout, bufferBodyBytes, maxConnectionsPerServer, maxQueuedPerServer,
                    8 << 10, Duration.ofSeconds(60), Duration.ofSeconds(60), 0, 511, DEFAULT_WEBSOCKET_IDLE, DEFAULT_UPSTREAM_IDLE);
        }
    }

    /**
     * One named group of servers. {@code retries} -1 means: until each server was tried once.
     * {@code resolve}: how often host names among the servers are resolved again (null: once,
     * at start and reload, and left to the HTTP client). {@code tls} null: plain HTTP to the servers.
     * {@code protocol}: HTTP/1.1, h2c or h2 to the servers. {@code sticky} and
     * {@code outlierDetection} null: neither (SPEC §13, docs/affinity.md). {@code overload}: its
     * queue, limits and retry policy (SPEC §13, docs/overload.md).
     */
    public record UpstreamConfig(String name, String balancer, String hashKey, int retries,
                                 List<ServerConfig> servers, HealthCheckConfig healthCheck, Duration resolve,
                                 UpstreamTls tls, String sendProxyProtocol, OriginProtocol protocol,
                                 StickyConfig sticky, OutlierConfig outlierDetection, OverloadConfig overload) {
        /** {@code send_proxy_protocol}'s values; null: none is sent. */
        public static final List<String> PROXY_PROTOCOL_VERSIONS = List.of("v1", "v2");

        public UpstreamConfig(String name, String balancer, String hashKey, int retries,
                              List<ServerConfig> servers, HealthCheckConfig healthCheck, Duration resolve, UpstreamTls tls) {
            this(name, balancer, hashKey, retries, servers, healthCheck, resolve, tls, null);
        }

        public UpstreamConfig(String name, String balancer, String hashKey, int retries,
                              List<ServerConfig> servers, HealthCheckConfig healthCheck, Duration resolve,
                              UpstreamTls tls, String sendProxyProtocol) {
            this(name, balancer, hashKey, retries, servers, healthCheck, resolve, tls, sendProxyProtocol, OriginProtocol.DEFAULT,
                    null, null, OverloadConfig.DEFAULT);
        }

        /** The same upstream with another server list (host names replaced by their addresses). */
        public UpstreamConfig withServers(List<ServerConfig> next) {
            return new UpstreamConfig(name, balancer, hashKey, retries, List.copyOf(next), healthCheck, resolve, tls, sendProxyProtocol, protocol,
                    sticky, outlierDetection, overload);
        }
    }

    /** The same configuration with other {@link Observe} settings (the {@code --log-level} override). */
    public ProxyConfig withObserve(Observe o) {
        return new ProxyConfig(source, listeners, upstreams, routes, api, status, state, proxy, resolver, o, fleet, shutdown);
    }

    /** The same configuration with the first listener on another port (the {@code --port} override). */
    public ProxyConfig withPort(int port) {
        List<Listen> moved = new ArrayList<>(listeners);
        moved.set(0, listeners.get(0).withPort(port));
        return withListeners(moved);
    }

    // Withers, so code that changes one part never spells out every component.

    /** One listener only (tests, the reload that keeps what is running). */
    public ProxyConfig withListen(Listen next) {
        return withListeners(List.of(next));
    }

    public ProxyConfig withListeners(List<Listen> next) {
        return new ProxyConfig(source, List.copyOf(next), upstreams, routes, api, status, state, proxy, resolver, observe, fleet, shutdown);
    }

    public ProxyConfig withUpstreams(Map<String, UpstreamConfig> next) {
        return new ProxyConfig(source, listeners, next, routes, api, status, state, proxy, resolver, observe, fleet, shutdown);
    }

    public ProxyConfig withApi(Api next) {
        return new ProxyConfig(source, listeners, upstreams, routes, next, status, state, proxy, resolver, observe, fleet, shutdown);
    }

    public ProxyConfig withStatus(Status next) {
        return new ProxyConfig(source, listeners, upstreams, routes, api, next, state, proxy, resolver, observe, fleet, shutdown);
    }

    public ProxyConfig withState(State next) {
        return new ProxyConfig(source, listeners, upstreams, routes, api, status, next, proxy, resolver, observe, fleet, shutdown);
    }

    public ProxyConfig withProxy(Proxy next) {
        return new ProxyConfig(source, listeners, upstreams, routes, api, status, state, next, resolver, observe, fleet, shutdown);
    }

    /** The same configuration with other fleet settings (null: a single instance, docs/fleet.md). */
    public ProxyConfig withFleet(FleetConfig next) {
        return new ProxyConfig(source, listeners, upstreams, routes, api, status, state, proxy, resolver, observe, next, shutdown);
    }

    public ProxyConfig withShutdown(Shutdown next) {
        return new ProxyConfig(source, listeners, upstreams, routes, api, status, state, proxy, resolver, observe, fleet, next);
    }
}
