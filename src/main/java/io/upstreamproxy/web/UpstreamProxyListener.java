package io.upstreamproxy.web;

import io.upstreamproxy.access.AccessFilter;
import io.upstreamproxy.api.UpstreamApiServlet;
import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ConfigWarnings;
import io.upstreamproxy.config.HealthCheckConfig;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.dns.DnsServers;
import io.upstreamproxy.fleet.FleetApiServlet;
import io.upstreamproxy.fleet.FleetNode;
import io.upstreamproxy.health.HealthChecker;
import io.upstreamproxy.logging.LogSetup;
import io.upstreamproxy.metrics.ProxyMetrics;
import io.upstreamproxy.proxy.AccessLog;
import io.upstreamproxy.proxy.ProxyEngine;
import io.upstreamproxy.proxy.Router;
import io.upstreamproxy.proxy.UpstreamProxyServlet;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.state.FileStateStore;
import io.upstreamproxy.state.StateStore;
import io.upstreamproxy.upstream.ChangeApplier;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.ServerEventLog;
import io.upstreamproxy.upstream.UpstreamRegistry;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterRegistration;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import jakarta.servlet.ServletRegistration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one wiring path for both ways of running: the WAR declares this listener in web.xml,
 * {@code Main} adds it to embedded Jetty. It loads the config (or takes the one {@code Main}
 * already loaded), builds the upstreams and registers the servlets and filters, and publishes
 * the {@link Reloader} that applies a changed config to all of them.
 */
public class UpstreamProxyListener implements ServletContextListener {
    /** Context attribute holding an already loaded {@link ProxyConfig} (embedded mode). */
    public static final String CONFIG_ATTRIBUTE = "io.upstreamproxy.config";
    /** Context attribute where the running {@link UpstreamRegistry} is published. */
    public static final String REGISTRY_ATTRIBUTE = "io.upstreamproxy.registry";
    /** Context attribute where the {@link ChangeApplier} (the one way to change servers) is published. */
    public static final String CHANGES_ATTRIBUTE = "io.upstreamproxy.changes";
    /** Context attribute where the {@link FleetNode} is published in fleet mode. */
    public static final String FLEET_ATTRIBUTE = "io.upstreamproxy.fleet";
    /** Context init-param, system property and (upper-cased) environment variable naming the config file. */
    public static final String CONFIG_PARAMETER = "upstream-proxy.config";
    public static final String CONFIG_ENV = "UPSTREAM_PROXY_CONFIG";
    /** Context attribute: "false" turns off the access log (embedded mode, {@code --no-access-log}); the WAR logs. */
    public static final String ACCESS_LOG_ATTRIBUTE = "io.upstreamproxy.accessLog";
    /** Context attribute where the running {@link AccessLog} is published (the jar reopens its file on SIGUSR1). */
    public static final String ACCESS_LOG_HANDLE_ATTRIBUTE = "io.upstreamproxy.accessLogHandle";

    /** Context attribute where the {@link Reloader} (SIGHUP, POST /api/reload) is published. */
    public static final String RELOADER_ATTRIBUTE = "io.upstreamproxy.reloader";
    /**
     * Context attribute (embedded mode): a {@code Supplier<ProxyConfig>} that reads the config
     * again for a reload, with the command line's overrides; without it the file the config
     * came from is read.
     */
    public static final String CONFIG_SOURCE_ATTRIBUTE = "io.upstreamproxy.configSource";
    /** Context attribute where the {@link Readiness} behind {@code /api/ready} is published (the jar's stop turns it off first). */
    public static final String READINESS_ATTRIBUTE = "io.upstreamproxy.readiness";

    private static final Logger LOG = LoggerFactory.getLogger(UpstreamProxyListener.class);

    private HealthChecker healthChecker; // guarded by this
    private DnsServers dns;
    private FleetNode fleet;
    private Map<String, HealthCheckConfig> checked = Map.of(); // guarded by this

    @Override
    public void contextInitialized(ServletContextEvent event) {
        ServletContext context = event.getServletContext();
        boolean embedded = context.getAttribute(CONFIG_ATTRIBUTE) instanceof ProxyConfig;
        ProxyConfig config = locateConfig(context);
        // Tomcat's convention is JULI: the WAR's lines go to Tomcat's log there, in its format.
        LogSetup.apply(config.observe().logLevel(), !embedded && String.valueOf(context.getServerInfo()).contains("Tomcat"));
        ConfigWarnings.of(config).forEach(w -> LOG.warn("{}: {}", config.source(), w));
        UpstreamRegistry registry = UpstreamRegistry.empty(Clock.SYSTEM);
        registry.observe(new ServerEventLog());
        dns = DnsServers.system();
        ChangeApplier changes = restoreState(config, registry, dns);
        dns.publishTo(registry, changes::reload);
        context.setAttribute(REGISTRY_ATTRIBUTE, registry);
        context.setAttribute(CHANGES_ATTRIBUTE, changes);
        Management management = registerManagement(context, config, changes);
        if (fleet != null) {
            startFleet(context, config, changes);
        }

        AccessLog accessLog = openAccessLog(config, context.getAttribute(ACCESS_LOG_ATTRIBUTE));
        context.setAttribute(ACCESS_LOG_HANDLE_ATTRIBUTE, accessLog);
        // The routes in force, for /api/routes, the route series and the next reload; the engine has its own copy.
        AtomicReference<Router> routes = new AtomicReference<>();
        AccessFilter metricsAccess = registerMetrics(context, config, registry, accessLog, () -> routes.get().rules());
        Router router = new Router(config.routes(), registry);
        routes.set(router);
        ProxyEngine engine = new ProxyEngine(router, config.proxy(), accessLog, context.getAttribute(UpstreamProxyServlet.SERVER_EXECUTOR));
        context.setAttribute(ProxyEngine.ATTRIBUTE, engine);
        ServletRegistration.Dynamic proxy = context.addServlet(ProxyEngine.SERVLET, new UpstreamProxyServlet(engine));
        proxy.setAsyncSupported(true);
        proxy.setLoadOnStartup(1);
        proxy.addMapping("/");
        followHealthChecks(registry, config);
        Readiness readiness = registerProbes(context, config, registry);

        Reloader reloader = new Reloader(configSource(context, config), dns::reload, config, next -> {
            management.reconfigure(next);
            metricsAccess.reconfigure(metricsRules(next));
            Router nextRouter = new Router(next.routes(), registry, routes.get());
            engine.reconfigure(nextRouter, next.proxy());
            routes.set(nextRouter);
            readiness.reconfigure(next.routes());
            followHealthChecks(registry, next);
        });
        context.setAttribute(RELOADER_ATTRIBUTE, reloader);
        ServletRegistration.Dynamic reload = context.addServlet("upstream-proxy-reload", new ReloadServlet(reloader));
        reload.addMapping(ReloadServlet.pathFor(config.api().path()));
        context.addServlet("upstream-proxy-routes", new RoutesServlet(routes::get))
                .addMapping(RoutesServlet.pathFor(config.api().path()));
        // The jar's Main adds its own start line, with the listener; this one is the webapp's.
        String base = context.getContextPath();
        LOG.info("upstream-proxy ready: {} upstream(s), {} route(s), config {}; in {} (context {}): upstreams {}; state {};"
                        + " status {}{}; metrics {}{}; api {}{}",
                registry.all().size(), config.routes().size(), config.source(), context.getServerInfo(),
                base.isEmpty() ? "/" : base, registry.all().keySet(),
                config.state().file() == null ? "not kept (no state.file)" : "file " + config.state().file(),
                base, config.status().path(), base, config.observe().metrics().path(), base, config.api().path());
    }

    @Override
    public synchronized void contextDestroyed(ServletContextEvent event) {
        if (event.getServletContext().getAttribute(READINESS_ATTRIBUTE) instanceof Readiness r) {
            r.stopping();
        }
        if (!(event.getServletContext().getAttribute(CONFIG_ATTRIBUTE) instanceof ProxyConfig)) {
            LOG.info("upstream-proxy stopping in {}", event.getServletContext().getContextPath());
        }
        if (fleet != null) {
            fleet.close();
            fleet = null;
        }
        if (dns != null) {
            dns.close();
        }
        if (healthChecker != null) {
            healthChecker.close();
            healthChecker = null;
        }
    }

    /**
     * Starts the health checks, or after a reload restarts them when some upstream's check
     * changed (verdicts live on the servers and are kept; the checker only re-plans). Unchanged
     * checks keep running: the checker follows each upstream's server list by itself.
     */
    private synchronized void followHealthChecks(UpstreamRegistry registry, ProxyConfig config) {
        Map<String, HealthCheckConfig> next = new LinkedHashMap<>();
        config.upstreams().values().forEach(u -> {
            if (u.healthCheck() != null) {
                next.put(u.name(), u.healthCheck());
            }
        });
        if (healthChecker != null && next.equals(checked)) {
            return;
        }
        if (healthChecker != null) {
            healthChecker.close();
        }
        try {
            healthChecker = HealthChecker.start(registry);
        } catch (Exception e) {
            throw new IllegalStateException("upstream-proxy: cannot start health checks: " + e, e);
        }
        checked = next;
    }

    /** How a reload reads the config: the command line's supplier, else the file it came from. */
    @SuppressWarnings("unchecked")
    private static Supplier<ProxyConfig> configSource(ServletContext context, ProxyConfig config) {
        Object given = context.getAttribute(CONFIG_SOURCE_ATTRIBUTE);
        if (given instanceof Supplier<?> s) {
            return (Supplier<ProxyConfig>) s;
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
    private static AccessLog openAccessLog(ProxyConfig config, Object switchAttribute) {
        if ("false".equals(String.valueOf(switchAttribute))) {
            return AccessLog.OFF;
        }
        try {
            return AccessLog.open(config.observe().accessLog(), Clock.SYSTEM);
        } catch (IOException e) {
            throw new IllegalStateException("upstream-proxy: access_log.file: cannot open " + config.observe().accessLog().file()
                    + ": " + e.getMessage(), e);
        }
    }

    /** Lays the state file over the config; a state file that cannot be read or written stops start-up ({@code StateException}). */
    private ChangeApplier restoreState(ProxyConfig config, UpstreamRegistry registry, DnsServers dns) {
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
        return ChangeApplier.restore(registry, dns.start(config, store.load()), store);
    }

    /**
     * Fleet mode (docs/fleet.md): joins etcd, and serves {@code GET /api/fleet} behind the API's
     * access rules. The node follows reloads through the {@link ChangeApplier} (upstream names,
     * servers to join with); a changed {@code fleet} itself waits for a restart ({@link Reloader}).
     */
    private void startFleet(ServletContext context, ProxyConfig config, ChangeApplier changes) {
        fleet.start(changes);
        context.setAttribute(FLEET_ATTRIBUTE, fleet);
        String path = FleetApiServlet.path(config.api().path());
        ServletRegistration.Dynamic servlet = context.addServlet("upstream-proxy-fleet", new FleetApiServlet(fleet));
        servlet.addMapping(path);
        context.getFilterRegistration("upstream-proxy-access")
                .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, path);
        LOG.info("fleet mode: {}, GET {}", config.fleet(), path);
    }

    /** The parts of the management side a reload reconfigures. */
    private record Management(AccessFilter access, UpstreamApiServlet api, StatusPageServlet status) {
        void reconfigure(ProxyConfig next) {
            access.reconfigure(next.api());
            api.reconfigure(next.api().maxBodyBytes());
            status.reconfigure(next);
        }
    }

    /**
     * The management API at {@code api.path}, the reload at its parent's {@code /reload}, the
     * status page at {@code status.path}, and the access filter over these only.
     */
    private static Management registerManagement(ServletContext context, ProxyConfig config, ChangeApplier changes) {
        String api = config.api().path();
        UpstreamApiServlet apiServlet = new UpstreamApiServlet(changes, config.api().maxBodyBytes());
        ServletRegistration.Dynamic servlet = context.addServlet("upstream-proxy-api", apiServlet);
        servlet.setAsyncSupported(true);
        servlet.addMapping(api + "/*");
        AccessFilter accessFilter = new AccessFilter(config.api());
        FilterRegistration.Dynamic access = context.addFilter("upstream-proxy-access", accessFilter);
        access.setAsyncSupported(true);
        access.addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, api + "/*",
                ReloadServlet.pathFor(api), RoutesServlet.pathFor(api), config.status().path() + "*");
        StatusPageServlet statusServlet = new StatusPageServlet(config);
        ServletRegistration.Dynamic status = context.addServlet("upstream-proxy-status", statusServlet);
        status.setAsyncSupported(true);
        status.addMapping(config.status().path() + "*");
        return new Management(accessFilter, apiServlet, statusServlet);
    }

    /**
     * {@code GET /api/ready} and {@code /api/live} beside the API, outside its access filter
     * ({@link ProbeServlet}), and the status page's 503 during a stop.
     */
    private static Readiness registerProbes(ServletContext context, ProxyConfig config, UpstreamRegistry registry) {
        Readiness readiness = new Readiness(registry, config.routes());
        context.setAttribute(READINESS_ATTRIBUTE, readiness);
        context.addServlet("upstream-proxy-ready", ProbeServlet.ready(readiness)).addMapping(ProbeServlet.pathFor(config.api().path(), "ready"));
        context.addServlet("upstream-proxy-live", ProbeServlet.live()).addMapping(ProbeServlet.pathFor(config.api().path(), "live"));
        FilterRegistration.Dynamic stopping = context.addFilter("upstream-proxy-stopping", new StoppingFilter(readiness));
        stopping.setAsyncSupported(true);
        stopping.addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, config.status().path() + "*");
        return readiness;
    }

    /** {@code GET /metrics} behind its own allow/deny rules and the API token (read-only: anything but GET/HEAD is 405). */
    private static AccessFilter registerMetrics(ServletContext context, ProxyConfig config, UpstreamRegistry registry, AccessLog accessLog,
                                                Supplier<List<RouteRule>> routes) {
        ProxyConfig.Metrics m = config.observe().metrics();
        AccessFilter filter = new AccessFilter(metricsRules(config), "metrics");
        FilterRegistration.Dynamic access = context.addFilter("upstream-proxy-metrics-access", filter);
        access.setAsyncSupported(true);
        access.addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, m.path());
        ServletRegistration.Dynamic servlet = context.addServlet("upstream-proxy-metrics",
                new MetricsServlet(ProxyMetrics.start(registry, accessLog::dropped, routes)));
        servlet.setAsyncSupported(true);
        servlet.addMapping(m.path());
        return filter;
    }

    /** The metrics path's access rules: its own allow/deny, the API's token and trusted proxies, read-only. */
    private static ProxyConfig.Api metricsRules(ProxyConfig config) {
        ProxyConfig.Metrics m = config.observe().metrics();
        return new ProxyConfig.Api(m.path(), m.allow(), m.deny(), config.api().token(), true, 0, config.api().trustedProxies());
    }

    /**
     * The config: the object {@code Main} put in the context, else the file named by the
     * context parameter, the system property or the environment variable, in that order.
     */
    static ProxyConfig locateConfig(ServletContext context) {
        Object loaded = context.getAttribute(CONFIG_ATTRIBUTE);
        if (loaded instanceof ProxyConfig c) {
            return c;
        }
        String file = context.getInitParameter(CONFIG_PARAMETER);
        if (file == null || file.isBlank()) {
            file = System.getProperty(CONFIG_PARAMETER);
        }
        if (file == null || file.isBlank()) {
            file = System.getenv(CONFIG_ENV);
        }
        if (file == null || file.isBlank()) {
            throw new IllegalStateException("upstream-proxy: no configuration: set the context parameter or system property "
                    + CONFIG_PARAMETER + ", or the environment variable " + CONFIG_ENV + ", to the config file's path");
        }
        Path path = Path.of(file);
        if (!Files.isReadable(path)) {
            throw new IllegalStateException("upstream-proxy: cannot read the configuration " + path.toAbsolutePath());
        }
        try {
            return load(path);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("upstream-proxy: " + e.getMessage());
        }
    }

    /** Reads and checks a config file; a problem is one line naming the file ({@code IllegalArgumentException}). */
    static ProxyConfig load(Path path) {
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
}
