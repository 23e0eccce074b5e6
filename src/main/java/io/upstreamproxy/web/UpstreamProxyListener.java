package io.upstreamproxy.web;

import io.upstreamproxy.access.AccessFilter;
import io.upstreamproxy.api.UpstreamApiServlet;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.fleet.FleetApiServlet;
import io.upstreamproxy.fleet.FleetNode;
import io.upstreamproxy.metrics.ProxyMetrics;
import io.upstreamproxy.proxy.AccessLog;
import io.upstreamproxy.proxy.ProxyEngine;
import io.upstreamproxy.proxy.UpstreamProxyServlet;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.runtime.ProxyRuntime;
import io.upstreamproxy.runtime.Readiness;
import io.upstreamproxy.upstream.ChangeApplier;
import io.upstreamproxy.upstream.UpstreamRegistry;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterRegistration;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import jakarta.servlet.ServletRegistration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The servlet side of the proxy, the same in the WAR and the jar: registers the proxy servlet,
 * the management API, the status page, metrics, probes and the access filters over the parts of
 * a {@link ProxyRuntime}. In the WAR (declared in web.xml) it builds the runtime itself from the
 * config the context parameter, system property or environment names, and closes it when the
 * webapp stops; the jar's {@code Main} builds the runtime first and hands it over.
 */
public class UpstreamProxyListener implements ServletContextListener {
    /** Context init-param, system property and (upper-cased) environment variable naming the config file. */
    public static final String CONFIG_PARAMETER = "upstream-proxy.config";
    public static final String CONFIG_ENV = "UPSTREAM_PROXY_CONFIG";

    private static final Logger LOG = LoggerFactory.getLogger(UpstreamProxyListener.class);

    private final ProxyRuntime given; // the jar's; null in the WAR
    private ProxyRuntime owned;       // the WAR's, built and closed here

    /** The WAR's: the container makes it, and it builds its runtime. */
    public UpstreamProxyListener() {
        this.given = null;
    }

    /** The jar's: serves {@code runtime}, which its maker closes. */
    public UpstreamProxyListener(ProxyRuntime runtime) {
        this.given = runtime;
    }

    @Override
    public void contextInitialized(ServletContextEvent event) {
        ServletContext context = event.getServletContext();
        if (given == null) {
            // Tomcat's convention is JULI: the WAR's lines go to Tomcat's log there, in its format.
            owned = ProxyRuntime.start(locateConfig(context), new ProxyRuntime.Options(true, null,
                    context.getAttribute(UpstreamProxyServlet.SERVER_EXECUTOR), String.valueOf(context.getServerInfo()).contains("Tomcat")));
        }
        ProxyRuntime runtime = given != null ? given : owned;
        runtime.engine().start();
        ProxyConfig config = runtime.config();
        UpstreamRegistry registry = runtime.registry();
        Management management = registerManagement(context, config, runtime.changes());
        if (runtime.fleet() != null) {
            registerFleet(context, config, runtime.fleet());
        }
        AccessFilter metricsAccess = registerMetrics(context, config, registry, runtime.accessLog(), () -> runtime.routes().rules());
        ServletRegistration.Dynamic proxy = context.addServlet(ProxyEngine.SERVLET, new UpstreamProxyServlet(runtime.engine()));
        proxy.setAsyncSupported(true);
        proxy.setLoadOnStartup(1);
        proxy.addMapping("/");
        registerProbes(context, config, runtime.readiness());
        runtime.onReload(next -> {
            management.reconfigure(next);
            metricsAccess.reconfigure(metricsRules(next));
        });
        ServletRegistration.Dynamic reload = context.addServlet("upstream-proxy-reload", new ReloadServlet(runtime.reloader()));
        reload.addMapping(ReloadServlet.pathFor(config.api().path()));
        context.addServlet("upstream-proxy-routes", new RoutesServlet(runtime::routes))
                .addMapping(RoutesServlet.pathFor(config.api().path()));
        if (given != null) {
            return; // the jar's Main logs its own start line, with the listeners
        }
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
        if (owned != null) {
            LOG.info("upstream-proxy stopping in {}", event.getServletContext().getContextPath());
            owned.close();
            owned = null;
        }
    }

    /** Fleet mode (docs/fleet.md): {@code GET /api/fleet} behind the API's access rules. */
    private static void registerFleet(ServletContext context, ProxyConfig config, FleetNode fleet) {
        String path = FleetApiServlet.path(config.api().path());
        ServletRegistration.Dynamic servlet = context.addServlet("upstream-proxy-fleet", new FleetApiServlet(fleet));
        servlet.addMapping(path);
        context.getFilterRegistration("upstream-proxy-access")
                .addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), true, path);
        LOG.info("fleet mode: GET {}", path);
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
    private static void registerProbes(ServletContext context, ProxyConfig config, Readiness readiness) {
        context.addServlet("upstream-proxy-ready", ProbeServlet.ready(readiness)).addMapping(ProbeServlet.pathFor(config.api().path(), "ready"));
        context.addServlet("upstream-proxy-live", ProbeServlet.live()).addMapping(ProbeServlet.pathFor(config.api().path(), "live"));
        FilterRegistration.Dynamic stopping = context.addFilter("upstream-proxy-stopping", new StoppingFilter(readiness));
        stopping.setAsyncSupported(true);
        stopping.addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, config.status().path() + "*");
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

    /** The config file the context parameter, the system property or the environment variable names, in that order. */
    static ProxyConfig locateConfig(ServletContext context) {
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
            return ProxyRuntime.load(path);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("upstream-proxy: " + e.getMessage());
        }
    }
}
