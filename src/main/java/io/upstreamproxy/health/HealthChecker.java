package io.upstreamproxy.health;

import io.upstreamproxy.proxyprotocol.ProxyProtocolHeader;
import io.upstreamproxy.config.HealthCheckConfig;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.tls.UpstreamTlsContext;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.io.IOException;
import java.nio.channels.AsynchronousChannelGroup;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.random.RandomGenerator;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.Scheduler;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the active health checks of every upstream that has a {@code health_check} (SPEC §6).
 *
 * <p>Threads: one scheduler thread plans every check and does no I/O; http checks run on a
 * Jetty client of their own (one selector, a pool of at most {@value #CLIENT_THREADS} threads),
 * tcp and agent checks on one NIO asynchronous-channel thread. Nothing here touches the proxy's
 * request threads or its upstream client, so checks cannot queue behind traffic or the reverse.
 * The cost is a few idle threads per process, started only when some upstream has checks.
 *
 * <p>Spread: the n servers found together start at offsets {@code i * interval / n} (after a
 * random phase per upstream, so upstreams do not line up): 1,000 servers at 1 s make one check
 * per millisecond, never a burst of 1,000.
 *
 * <p>Injectable for tests (STYLE habit 5): the scheduler, the clock that plans the rounds, the
 * probes and the phases' random source ({@link #start(UpstreamRegistry, Scheduler, Function, RandomGenerator)}).
 *
 * <p>Servers come and go at run time: every {@value #SYNC_MILLIS} ms the checker compares each
 * upstream's server list (an immutable snapshot, so "unchanged" is one reference comparison)
 * with the servers it monitors, starts checking added ones at once and stops removed ones.
 */
public final class HealthChecker implements AutoCloseable {
    static final long SYNC_MILLIS = 200;
    static final int CLIENT_THREADS = 8;
    static final long IDLE_MILLIS = 30_000;
    private static final Logger LOG = LoggerFactory.getLogger(HealthChecker.class);

    private final Scheduler scheduler;
    private final HttpClient http;
    private final Map<ProxyConfig.UpstreamTls, HttpClient> tlsClients = new java.util.concurrent.ConcurrentHashMap<>();
    private final AsynchronousChannelGroup group;
    private final List<UpstreamChecks> upstreams = new ArrayList<>();
    private final Clock clock;
    private final Function<Upstream, Probe> probes;
    private final RandomGenerator random;
    private volatile boolean closed;
    private HTTP2Client grpc; // guarded by this; null until a grpc check starts
    private final Map<ProxyConfig.UpstreamTls, SslContextFactory.Client> grpcTls = new java.util.concurrent.ConcurrentHashMap<>();

    private HealthChecker(Scheduler scheduler, HttpClient http, AsynchronousChannelGroup group, Clock clock,
                          Function<Upstream, Probe> probes, RandomGenerator random) {
        this.scheduler = scheduler;
        this.http = http;
        this.group = group;
        this.clock = clock;
        this.probes = probes != null ? probes : this::newProbe;
        this.random = random;
    }

    /**
     * Checks {@code registry}'s upstreams on a given, started {@code scheduler} with the probes
     * {@code probes} makes per upstream, planning by the registry's clock; the phases of the
     * upstreams come from {@code random}. What {@link #start(UpstreamRegistry)} does with real
     * threads and sockets; tests pass a scheduler that runs when they move the clock.
     */
    static HealthChecker start(UpstreamRegistry registry, Scheduler scheduler, Function<Upstream, Probe> probes,
                               RandomGenerator random) {
        HealthChecker checker = new HealthChecker(scheduler, null, null, registry.clock(), probes, random);
        checker.begin(registry.all().values().stream().filter(u -> u.config().healthCheck() != null).toList());
        return checker;
    }

    private void begin(List<Upstream> checked) {
        for (Upstream u : checked) {
            upstreams.add(new UpstreamChecks(u));
        }
        scheduler.schedule(this::sync, 0, TimeUnit.MILLISECONDS);
    }

    /**
     * Starts checking every upstream of {@code registry} that has a health check; with none,
     * returns a checker that started no threads.
     */
    public static HealthChecker start(UpstreamRegistry registry) throws Exception {
        List<Upstream> checked = registry.all().values().stream().filter(u -> u.config().healthCheck() != null).toList();
        if (checked.isEmpty()) {
            return new HealthChecker(null, null, null, registry.clock(), c -> null, ThreadLocalRandom.current());
        }
        ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("upstream-proxy-health", true);
        scheduler.start();
        HttpClient http = null;
        AsynchronousChannelGroup group = null;
        try {
            http = newHttpClient(scheduler);
            boolean sockets = checked.stream().anyMatch(u -> switch (u.config().healthCheck().type()) {
                case TCP, AGENT -> true;
                default -> false;
            });
            if (sockets) {
                group = AsynchronousChannelGroup.withFixedThreadPool(1, r -> {
                    Thread t = new Thread(r, "upstream-proxy-health-nio");
                    t.setDaemon(true);
                    return t;
                });
            }
            HealthChecker checker = new HealthChecker(scheduler, http, group, registry.clock(), null, ThreadLocalRandom.current());
            checker.begin(checked);
            LOG.info("health checks on for {} upstream(s)", checked.size());
            return checker;
        } catch (Exception e) {
            stopQuietly(http, group, scheduler);
            throw e;
        }
    }

    /** The real probe for {@code upstream}'s check; http checks of an upstream over TLS speak TLS too. */
    private Probe newProbe(Upstream upstream) {
        HealthCheckConfig config = upstream.config().healthCheck();
        String scheme = upstream.config().tls() == null ? "http" : "https";
        return switch (config.type()) {
            case HTTP -> new HttpProbe(clientFor(upstream), config, false, scheme, ProxyProtocolHeader.localTag(upstream.config().sendProxyProtocol()));
            case HTTP_AGENT -> new HttpProbe(clientFor(upstream), config, true, scheme, ProxyProtocolHeader.localTag(upstream.config().sendProxyProtocol()));
            case TCP -> new SocketProbe(group, scheduler, http.getSocketAddressResolver(), config.timeout().toMillis(), false);
            case AGENT -> new SocketProbe(group, scheduler, http.getSocketAddressResolver(), config.timeout().toMillis(), true);
            case GRPC -> new GrpcProbe(grpcClient(), grpcTls(upstream.config().tls()), config.service(), config.timeout().toMillis());
        };
    }

    /** The started TLS factory of {@code grpc} checks for an upstream's {@code tls}, or null for h2c. */
    private SslContextFactory.Client grpcTls(ProxyConfig.UpstreamTls tls) {
        if (tls == null) {
            return null;
        }
        return grpcTls.computeIfAbsent(tls, t -> {
            SslContextFactory.Client f = UpstreamTlsContext.of(t).newJettyFactory();
            try {
                f.start();
            } catch (Exception e) {
                throw new IllegalStateException("cannot start TLS for gRPC health checks: " + e, e);
            }
            return f;
        });
    }

    /** The HTTP/2 client of {@code grpc} checks, started on first use (the WAR lacks it: such a check then fails to start). */
    private synchronized HTTP2Client grpcClient() {
        if (grpc == null) {
            try {
                HTTP2Client c = new HTTP2Client();
                c.getClientConnector().setSelectors(1);
                c.start();
                grpc = c;
            } catch (Exception | LinkageError e) { // LinkageError: the WAR, which has no HTTP/2 client
                throw new IllegalStateException("cannot start the gRPC health check client: " + e, e);
            }
        }
        return grpc;
    }

    /** The plain client, or one per TLS setting for upstreams over TLS (made on first use). */
    private HttpClient clientFor(Upstream upstream) {
        ProxyConfig.UpstreamTls tls = upstream.config().tls();
        if (tls == null) {
            return http;
        }
        return tlsClients.computeIfAbsent(tls, t -> {
            try {
                return newHttpClient(scheduler, UpstreamTlsContext.of(t).newJettyFactory());
            } catch (Exception e) {
                throw new IllegalStateException("cannot start the TLS health check client: " + e, e);
            }
        });
    }

    private static HttpClient newHttpClient(Scheduler scheduler) throws Exception {
        return newHttpClient(scheduler, null);
    }

    private static HttpClient newHttpClient(Scheduler scheduler, SslContextFactory.Client tls) throws Exception {
        ClientConnector connector = new ClientConnector();
        connector.setSelectors(1);
        if (tls != null) {
            connector.setSslContextFactory(tls);
        }
        HttpClient client = new HttpClient(new HttpClientTransportOverHTTP(connector));
        QueuedThreadPool pool = new QueuedThreadPool(CLIENT_THREADS, 1);
        pool.setName("upstream-proxy-health-client");
        pool.setDaemon(true);
        pool.setReservedThreads(0);
        client.setExecutor(pool);
        client.setScheduler(scheduler);
        client.setFollowRedirects(false);
        client.setHttpCookieStore(new HttpCookieStore.Empty());
        client.setUserAgentField(new HttpField(HttpHeader.USER_AGENT, "upstream-proxy-health-check"));
        client.setDestinationIdleTimeout(60_000); // forget removed servers' destinations
        // Idle check connections live this long: reused by checks every few seconds, closed
        // (and opened again per check) for longer intervals.
        client.setIdleTimeout(IDLE_MILLIS);
        client.start();
        return client;
    }

    /** Starts and stops monitors to match each upstream's current servers; runs on the scheduler. */
    private synchronized void sync() {
        if (closed) {
            return;
        }
        for (UpstreamChecks u : upstreams) {
            try {
                u.sync();
            } catch (RuntimeException e) {
                LOG.warn("health checks of upstream {}: cannot follow its server list", u.upstream.name(), e);
            }
        }
        try {
            scheduler.schedule(this::sync, SYNC_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            if (!closed) {
                LOG.warn("health checks: cannot schedule", e);
            }
        }
    }

    /** Stops every check; checks in flight are abandoned. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            upstreams.forEach(UpstreamChecks::stop);
        }
        for (HttpClient c : tlsClients.values()) {
            try {
                c.stop();
            } catch (Exception e) {
                LOG.debug("stopping a TLS health check client: {}", e.toString());
            }
        }
        HTTP2Client g;
        synchronized (this) {
            g = grpc;
        }
        for (SslContextFactory.Client f : grpcTls.values()) {
            try {
                f.stop();
            } catch (Exception e) {
                LOG.debug("stopping a gRPC health check TLS factory: {}", e.toString());
            }
        }
        if (g != null) {
            try {
                g.stop();
            } catch (Exception e) {
                LOG.debug("stopping the gRPC health check client: {}", e.toString());
            }
        }
        stopQuietly(http, group, scheduler);
    }

    private static void stopQuietly(HttpClient http, AsynchronousChannelGroup group, Scheduler scheduler) {
        try {
            if (http != null) {
                http.stop();
            }
            if (group != null) {
                group.shutdownNow();
            }
            if (scheduler != null) {
                scheduler.stop();
            }
        } catch (Exception e) {
            LOG.warn("health checks: error while stopping", e);
        }
    }

    /** Offset of the {@code index}-th of {@code count} servers started together: evenly spread over the interval. */
    static long offsetNanos(int index, int count, long intervalNanos) {
        return (long) ((double) index * intervalNanos / count); // in double: index * interval may pass 2^63
    }

    /** The monitors of one upstream. Only touched under the checker's monitor. */
    private final class UpstreamChecks {
        final Upstream upstream;
        final HealthCheckConfig config;
        final Probe probe;
        final Map<Server, ServerMonitor> monitors = new IdentityHashMap<>();
        final long phaseNanos;
        List<Server> seen;

        UpstreamChecks(Upstream upstream) {
            this.upstream = upstream;
            this.config = upstream.config().healthCheck();
            this.probe = probes.apply(upstream);
            this.phaseNanos = random.nextLong(config.interval().toNanos());
        }

        void sync() {
            List<Server> current = upstream.servers();
            if (current == seen) {
                return;
            }
            Set<Server> present = Collections.newSetFromMap(new IdentityHashMap<>());
            present.addAll(current);
            monitors.entrySet().removeIf(e -> {
                if (present.contains(e.getKey())) {
                    return false;
                }
                e.getValue().stop();
                return true;
            });
            List<Server> added = current.stream().filter(s -> !monitors.containsKey(s)).toList();
            long interval = config.interval().toNanos();
            // The first servers start after a random phase; servers added later are checked at once.
            long phase = seen == null ? phaseNanos : 0;
            for (int i = 0; i < added.size(); i++) {
                Server s = added.get(i);
                HostPort target = config.port() == 0 ? s.address() : new HostPort(s.address().host(), config.port());
                ServerMonitor m = new ServerMonitor(s, upstream, target, probe,
                        new HealthTracker(s, config.fails(), config.passes(), clock),
                        scheduler, clock, interval, config.jitter().toNanos());
                monitors.put(s, m);
                m.start(phase + offsetNanos(i, added.size(), interval));
            }
            seen = current;
        }

        void stop() {
            monitors.values().forEach(ServerMonitor::stop);
            monitors.clear();
        }
    }
}
