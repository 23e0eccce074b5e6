package io.upstreamproxy.health;

import io.upstreamproxy.config.HealthCheckConfig;
import io.upstreamproxy.proxy.OriginProbes;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
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
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.Scheduler;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the active health checks of every upstream that has a {@code health_check} (SPEC §6).
 *
 * <p>Threads: one scheduler thread plans every check and does no I/O. The probes go out on the
 * proxy's own upstream client ({@link OriginProbes}), so a server is judged by the client its
 * requests use (resolution, TLS, PROXY header, parser), on its selectors, with no thread waiting
 * on a socket; their connections sit in pools of their own, so checks never queue behind
 * traffic. The one thread starts only when some upstream has checks.
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
    private static final Logger LOG = LoggerFactory.getLogger(HealthChecker.class);

    private final Scheduler scheduler;
    private final OriginProbes transport;
    private final List<UpstreamChecks> upstreams = new ArrayList<>();
    private final Clock clock;
    private final Function<Upstream, Probe> probes;
    private final RandomGenerator random;
    private volatile boolean closed;

    private HealthChecker(Scheduler scheduler, OriginProbes transport, Clock clock, Function<Upstream, Probe> probes, RandomGenerator random) {
        this.scheduler = scheduler;
        this.transport = transport;
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
        HealthChecker checker = new HealthChecker(scheduler, null, registry.clock(), probes, random);
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
     * Starts checking every upstream of {@code registry} that has a health check, each probe sent
     * by {@code transport} (the proxy's upstream client); with none, returns a checker that
     * started no thread.
     */
    public static HealthChecker start(UpstreamRegistry registry, OriginProbes transport) {
        List<Upstream> checked = registry.all().values().stream().filter(u -> u.config().healthCheck() != null).toList();
        if (checked.isEmpty()) {
            return new HealthChecker(null, null, registry.clock(), c -> null, ThreadLocalRandom.current());
        }
        ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("upstream-proxy-health", true);
        try {
            scheduler.start();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the health check scheduler: " + e, e);
        }
        HealthChecker checker = new HealthChecker(scheduler, transport, registry.clock(), null, ThreadLocalRandom.current());
        checker.begin(checked);
        LOG.info("health checks on for {} upstream(s)", checked.size());
        return checker;
    }

    /** The real probe for {@code upstream}'s check; checks of an upstream over TLS speak TLS too. */
    private Probe newProbe(Upstream upstream) {
        HealthCheckConfig config = upstream.config().healthCheck();
        long timeout = config.timeout().toMillis();
        return switch (config.type()) {
            case HTTP -> new HttpProbe(transport, upstream.config(), config, false);
            case HTTP_AGENT -> new HttpProbe(transport, upstream.config(), config, true);
            case TCP -> new SocketProbe(transport, timeout, false);
            case AGENT -> new SocketProbe(transport, timeout, true);
            case GRPC -> new GrpcProbe(grpcClient(), upstream.config().tls() == null ? null : transport.tls(upstream.config().tls()),
                    config.service(), timeout);
        };
    }

    /** The HTTP/2 client of {@code grpc} checks: the proxy's own (the WAR lacks it: such a check then fails to start). */
    private HTTP2Client grpcClient() {
        try {
            return transport.http2();
        } catch (RuntimeException | LinkageError e) { // the WAR, which has no HTTP/2 client
            throw new IllegalStateException("cannot start the gRPC health check client: " + e, e);
        }
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

    /** Stops every check; checks in flight are abandoned (their connections belong to the upstream client). */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            upstreams.forEach(UpstreamChecks::stop);
        }
        if (scheduler != null) {
            try {
                scheduler.stop();
            } catch (Exception e) {
                LOG.warn("health checks: error while stopping", e);
            }
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
