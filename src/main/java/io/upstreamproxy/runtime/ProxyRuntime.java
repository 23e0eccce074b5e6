package io.upstreamproxy.runtime;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ConfigWarnings;
import io.upstreamproxy.config.HealthCheckConfig;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.dns.DnsServers;
import io.upstreamproxy.fleet.FleetNode;
import io.upstreamproxy.health.HealthChecker;
import io.upstreamproxy.logging.LogSetup;
import io.upstreamproxy.proxy.AccessLog;
import io.upstreamproxy.proxy.ProxyEngine;
import io.upstreamproxy.proxy.Router;
import io.upstreamproxy.state.FileStateStore;
import io.upstreamproxy.state.StateStore;
import io.upstreamproxy.upstream.ChangeApplier;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.ServerEventLog;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: builds, from one checked config, everything the proxy runs on (the
 * upstreams with their saved state, DNS, the fleet node, the access log, the routes and the
 * engine, health checks, readiness, the reloader) and owns it until {@link #close}. Both doors
 * use it: {@code Main} (the jar) builds one before Jetty starts and hands its parts to the
 * handlers; the WAR's {@code UpstreamProxyListener} builds one when the container starts the
 * webapp. The servlets then only serve what it holds; nothing is looked up by name.
 */
public final class ProxyRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyRuntime.class);

    /**
     * How the runtime is embedded. {@code accessLog}: false turns it off ({@code --no-access-log});
     * {@code source}: reads the config again for a reload (null: the file it came from);
     * {@code serverExecutor}: the server's thread pool the upstream client shares (null: one of
     * its own); {@code containerLogging}: the WAR in Tomcat, whose convention is JULI.
     */
    public record Options(boolean accessLog, Supplier<ProxyConfig> source, Object serverExecutor, boolean containerLogging) {}

    private final ProxyConfig config;
    private final UpstreamRegistry registry;
    private final DnsServers dns;
    private final FleetNode fleet;
    private final ChangeApplier changes;
    private final AccessLog accessLog;
    private final ProxyEngine engine;
    private final Readiness readiness;
    private final Reloader reloader;
    private final List<Consumer<ProxyConfig>> onReload = new CopyOnWriteArrayList<>();
    private volatile Router routes; // the routes in force, for /api/routes, the route series and the next reload's counters
    private HealthChecker healthChecker; // guarded by this
    private Map<String, HealthCheckConfig> checked = Map.of(); // guarded by this
    private boolean closed; // guarded by this

    private ProxyRuntime(ProxyConfig config, Options options, UpstreamRegistry registry, DnsServers dns, FleetNode fleet,
                         ChangeApplier changes, AccessLog accessLog) {
        this.config = config;
        this.registry = registry;
        this.dns = dns;
        this.fleet = fleet;
        this.changes = changes;
        this.accessLog = accessLog;
        this.routes = new Router(config.routes(), registry);
        this.engine = new ProxyEngine(routes, config.proxy(), accessLog, options.serverExecutor());
        this.readiness = new Readiness(registry, config.routes());
        this.reloader = new Reloader(configSource(options, config), dns::reload, config, this::apply);
    }

    /**
     * Builds the runtime for {@code config}: upstreams with the saved state laid over them (or
     * the fleet's intent), DNS, the fleet node, the access log, the engine and health checks.
     * A state file or access log that cannot be used stops the start ({@code StateException},
     * {@code IllegalStateException}); whatever started by then is closed.
     */
    public static ProxyRuntime start(ProxyConfig config, Options options) {
        LogSetup.apply(config.observe().logLevel(), options.containerLogging());
        ConfigWarnings.of(config).forEach(w -> LOG.warn("{}: {}", config.source(), w));
        UpstreamRegistry registry = UpstreamRegistry.empty(Clock.SYSTEM);
        registry.observe(new ServerEventLog());
        DnsServers dns = DnsServers.system();
        FleetNode fleet = null;
        try {
            Path file = config.state().file();
            StateStore store = file == null ? StateStore.NONE : new FileStateStore(file);
            if (file == null) {
                LOG.warn("no state.file in the config: run-time changes (drain, weight, added servers) are lost on restart");
            }
            if (config.fleet() != null) {
                fleet = FleetNode.create(config, store); // etcd first, the state file as its cache
                store = fleet.store();
            }
            // The saved state also stands in for the first DNS answer of a name that cannot be resolved now.
            ChangeApplier changes = ChangeApplier.restore(registry, dns.start(config, store.load()), store);
            dns.publishTo(registry, changes::reload);
            if (fleet != null) {
                fleet.start(changes);
                LOG.info("fleet mode: {}", config.fleet());
            }
            ProxyRuntime runtime = new ProxyRuntime(config, options, registry, dns, fleet, changes, openAccessLog(config, options.accessLog()));
            runtime.followHealthChecks(config);
            return runtime;
        } catch (RuntimeException e) {
            if (fleet != null) {
                fleet.close();
            }
            dns.close();
            throw e;
        }
    }

    /** A reload that passed its checks: the doors' parts first (access rules, pages), then routes, engine, readiness, checks. */
    private void apply(ProxyConfig next) {
        onReload.forEach(c -> c.accept(next));
        Router nextRoutes = new Router(next.routes(), registry, routes);
        engine.reconfigure(nextRoutes, next.proxy());
        routes = nextRoutes;
        readiness.reconfigure(next.routes());
        followHealthChecks(next);
    }

    /** {@code reconfigure} runs on every applied reload, before the engine takes the new routes (a door's access rules, its pages). */
    public void onReload(Consumer<ProxyConfig> reconfigure) {
        onReload.add(reconfigure);
    }

    /**
     * Starts the health checks, or after a reload restarts them when some upstream's check
     * changed (verdicts live on the servers and are kept; the checker only re-plans). Unchanged
     * checks keep running: the checker follows each upstream's server list by itself.
     */
    private synchronized void followHealthChecks(ProxyConfig next) {
        if (closed) {
            return;
        }
        Map<String, HealthCheckConfig> wanted = new LinkedHashMap<>();
        next.upstreams().values().forEach(u -> {
            if (u.healthCheck() != null) {
                wanted.put(u.name(), u.healthCheck());
            }
        });
        if (healthChecker != null && wanted.equals(checked)) {
            return;
        }
        if (healthChecker != null) {
            healthChecker.close();
        }
        try {
            healthChecker = HealthChecker.start(registry, engine.probes());
        } catch (Exception e) {
            throw new IllegalStateException("upstream-proxy: cannot start health checks: " + e, e);
        }
        checked = wanted;
    }

    /** How a reload reads the config: the embedding's supplier, else the file it came from. */
    private static Supplier<ProxyConfig> configSource(Options options, ProxyConfig config) {
        if (options.source() != null) {
            return options.source();
        }
        Path file = config.source();
        return () -> {
            if (file == null) {
                throw new IllegalStateException("no config file to reload: the configuration was not read from a file");
            }
            return load(file);
        };
    }

    /** The access log as {@code access_log} says, unless the embedding turned it off; a file that cannot be opened stops start-up. */
    private static AccessLog openAccessLog(ProxyConfig config, boolean on) {
        if (!on) {
            return AccessLog.OFF;
        }
        try {
            return AccessLog.open(config.observe().accessLog(), Clock.SYSTEM);
        } catch (IOException e) {
            throw new IllegalStateException("upstream-proxy: access_log.file: cannot open " + config.observe().accessLog().file()
                    + ": " + e.getMessage(), e);
        }
    }

    /** Reads and checks a config file; a problem is one line naming the file ({@code IllegalArgumentException}). */
    public static ProxyConfig load(Path path) {
        try {
            ProxyConfig c = ConfigLoader.load(path);
            DnsServers.checkNames(c);
            return c;
        } catch (ConfigException e) {
            throw new IllegalArgumentException(path + ": " + e.getMessage());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + path + ": " + e.getMessage());
        }
    }

    /** The config it started with (a reload's changes live in the parts it reconfigured). */
    public ProxyConfig config() {
        return config;
    }

    public UpstreamRegistry registry() {
        return registry;
    }

    /** The one way to change servers (the API, the fleet, DNS). */
    public ChangeApplier changes() {
        return changes;
    }

    /** The fleet node, or null outside fleet mode. */
    public FleetNode fleet() {
        return fleet;
    }

    public AccessLog accessLog() {
        return accessLog;
    }

    public ProxyEngine engine() {
        return engine;
    }

    /** The routes in force (a reload replaces them). */
    public Router routes() {
        return routes;
    }

    public Readiness readiness() {
        return readiness;
    }

    public Reloader reloader() {
        return reloader;
    }

    /** Stops what it started, once: readiness says "stopping", then health checks, the fleet node, DNS and the upstream client close. */
    @Override
    public void close() {
        readiness.stopping();
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (healthChecker != null) {
                healthChecker.close();
                healthChecker = null;
            }
        }
        if (fleet != null) {
            fleet.close();
        }
        dns.close();
        engine.close();
    }
}
