package io.upstreamproxy.web;

import io.upstreamproxy.access.AccessFilter;
import io.upstreamproxy.api.UpstreamApiServlet;
import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.fleet.FleetApiServlet;
import io.upstreamproxy.fleet.FleetNode;
import io.upstreamproxy.health.HealthChecker;
import io.upstreamproxy.proxy.Router;
import io.upstreamproxy.proxy.UpstreamProxyServlet;
import io.upstreamproxy.state.FileStateStore;
import io.upstreamproxy.state.StateStore;
import io.upstreamproxy.upstream.ChangeApplier;
import io.upstreamproxy.upstream.Clock;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one wiring path for both ways of running: the WAR declares this listener in web.xml,
 * {@code Main} adds it to embedded Jetty. It loads the config (or takes the one {@code Main}
 * already loaded), builds the upstreams and registers the servlets and filters.
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
    /** Context attribute: "true" turns on the access log (embedded mode). */
    public static final String ACCESS_LOG_ATTRIBUTE = "io.upstreamproxy.accessLog";

    private static final Logger LOG = LoggerFactory.getLogger(UpstreamProxyListener.class);

    private HealthChecker healthChecker;
    private FleetNode fleet;

    @Override
    public void contextInitialized(ServletContextEvent event) {
        ServletContext context = event.getServletContext();
        ProxyConfig config = locateConfig(context);
        UpstreamRegistry registry = UpstreamRegistry.create(config, Clock.SYSTEM);
        context.setAttribute(REGISTRY_ATTRIBUTE, registry);
        ChangeApplier changes = restoreState(config, registry);
        context.setAttribute(CHANGES_ATTRIBUTE, changes);
        registerManagement(context, config, changes);
        if (fleet != null) {
            startFleet(context, config, changes);
        }

        Router router = new Router(config.routes(), registry);
        boolean accessLog = Boolean.parseBoolean(String.valueOf(context.getAttribute(ACCESS_LOG_ATTRIBUTE)));
        ServletRegistration.Dynamic proxy = context.addServlet("upstream-proxy",
                new UpstreamProxyServlet(router, config.proxy(), accessLog));
        proxy.setAsyncSupported(true);
        proxy.setLoadOnStartup(1);
        proxy.addMapping("/");
        try {
            healthChecker = HealthChecker.start(registry);
        } catch (Exception e) {
            throw new IllegalStateException("upstream-proxy: cannot start health checks: " + e, e);
        }
        LOG.info("upstream-proxy ready: {} upstream(s), {} route(s), config {}",
                registry.all().size(), config.routes().size(), config.source());
    }

    @Override
    public void contextDestroyed(ServletContextEvent event) {
        if (fleet != null) {
            fleet.close();
            fleet = null;
        }
        if (healthChecker != null) {
            healthChecker.close();
            healthChecker = null;
        }
    }

    /** Lays the state file over the config; a state file that cannot be read or written stops start-up ({@code StateException}). */
    private ChangeApplier restoreState(ProxyConfig config, UpstreamRegistry registry) {
        Path file = config.state().file();
        StateStore store = file == null ? StateStore.NONE : new FileStateStore(file);
        if (file == null) {
            LOG.warn("no state.file in the config: run-time changes (drain, weight, added servers) are lost on restart");
        }
        if (config.fleet() != null) {
            fleet = FleetNode.create(config, store); // etcd first, the state file as its cache
            store = fleet.store();
        }
        return ChangeApplier.restore(registry, config, store);
    }

    /** Fleet mode (docs/fleet.md): joins etcd, and serves {@code GET /api/fleet} behind the API's access rules. */
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

    /** The management API at {@code api.path}, the status page at {@code status.path}, and the access filter over both only. */
    private static void registerManagement(ServletContext context, ProxyConfig config, ChangeApplier changes) {
        String api = config.api().path();
        ServletRegistration.Dynamic servlet = context.addServlet("upstream-proxy-api",
                new UpstreamApiServlet(changes, config.api().maxBodyBytes()));
        servlet.setAsyncSupported(true);
        servlet.addMapping(api + "/*");
        FilterRegistration.Dynamic access = context.addFilter("upstream-proxy-access", new AccessFilter(config.api()));
        access.setAsyncSupported(true);
        access.addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, api + "/*", config.status().path() + "*");
        ServletRegistration.Dynamic status = context.addServlet("upstream-proxy-status", new StatusPageServlet(config));
        status.setAsyncSupported(true);
        status.addMapping(config.status().path() + "*");
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
            return ConfigLoader.load(path);
        } catch (ConfigException e) {
            throw new IllegalStateException("upstream-proxy: " + path + ": " + e.getMessage());
        } catch (IOException e) {
            throw new IllegalStateException("upstream-proxy: cannot read " + path + ": " + e.getMessage());
        }
    }
}
