package io.upstreamproxy;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ObserveConfig;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.logging.LogSetup;
import io.upstreamproxy.logging.Signals;
import io.upstreamproxy.proxy.AccessLog;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.state.StateException;
import io.upstreamproxy.upstream.UpstreamRegistry;
import io.upstreamproxy.web.UpstreamProxyListener;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar upstream-proxy.jar [--config FILE] [--port N] [--demo] [--no-access-log] [--log-level L]}: checks the config,
 * boots embedded Jetty with the same listener the WAR uses, and on SIGTERM stops accepting,
 * lets in-flight requests finish (up to {@link #GRACE}) and exits 0.
 */
public final class Main {
    static final Duration GRACE = Duration.ofSeconds(30);
    static final int USER_ERROR = 2;
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private final Server server;
    private final ServletContextHandler context;
    private final DemoBackends demo;

    private Main(Server server, ServletContextHandler context, DemoBackends demo) {
        this.server = server;
        this.context = context;
        this.demo = demo;
    }

    public static void main(String[] args) {
        Args parsed;
        ProxyConfig config;
        try {
            parsed = Args.parse(args);
            if (parsed.help) {
                System.out.println(Args.USAGE);
                return;
            }
            config = loadConfig(parsed.config);
            if (parsed.port != null) {
                config = config.withPort(parsed.port);
            }
            if (parsed.logLevel != null) {
                ProxyConfig.Observe o = config.observe();
                config = config.withObserve(new ProxyConfig.Observe(o.metrics(), o.accessLog(), parsed.logLevel));
            }
            LogSetup.apply(config.observe().logLevel()); // before anything logs
        } catch (UserError e) {
            System.err.println("upstream-proxy: " + e.getMessage());
            System.exit(USER_ERROR);
            return;
        }
        try {
            Main main = start(config, parsed.demo, parsed.accessLog);
            main.printBanner(System.out, config);
            main.logStart(config);
            main.stopOnSignal();
            main.reopenAccessLogOnSignal();
            main.server.join();
        } catch (UserError e) {
            System.err.println("upstream-proxy: " + e.getMessage());
            System.exit(USER_ERROR);
        } catch (Exception e) {
            System.err.println("upstream-proxy: cannot start: " + e);
            System.exit(1);
        }
    }

    static ProxyConfig loadConfig(Path file) {
        try {
            return ConfigLoader.load(file);
        } catch (NoSuchFileException e) {
            throw new UserError("cannot read " + file + ": no such file (use --config FILE)");
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage());
        } catch (ConfigException e) {
            throw new UserError(file + ": " + e.getMessage());
        }
    }

    /** Boots the proxy (and the demo backends); used by tests as well as by {@link #main}. */
    public static Main start(ProxyConfig config, boolean withDemo, boolean accessLog) throws Exception {
        DemoBackends demo = withDemo ? DemoBackends.start(config) : null;
        Server server = newServer(config.listen());
        ServletContextHandler context = new ServletContextHandler("/");
        context.setAttribute(UpstreamProxyListener.CONFIG_ATTRIBUTE, config);
        context.setAttribute(UpstreamProxyListener.ACCESS_LOG_ATTRIBUTE, String.valueOf(accessLog));
        context.addEventListener(new UpstreamProxyListener());
        server.setHandler(new GracefulHandler(context));
        server.setStopTimeout(GRACE.toMillis());
        try {
            server.start();
        } catch (IOException e) {
            server.stop();
            if (demo != null) {
                demo.close();
            }
            throw new UserError("cannot listen on " + config.listen().host() + ":" + config.listen().port() + ": " + e.getMessage());
        } catch (RuntimeException e) {
            server.stop();
            if (demo != null) {
                demo.close();
            }
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof StateException) {
                    throw new UserError(c.getMessage()); // a broken state file is the user's to fix
                }
            }
            throw e;
        }
        if (!server.isStarted()) {
            throw new IllegalStateException("the server did not start");
        }
        return new Main(server, context, demo);
    }

    /** The running upstreams (for tests and embedding). */
    public UpstreamRegistry registry() {
        return (UpstreamRegistry) context.getServletContext().getAttribute(UpstreamProxyListener.REGISTRY_ATTRIBUTE);
    }

    /** Embedded Jetty with its one HTTP listener, not started: threads and connector as the proxy runs them. */
    public static Server newServer(ProxyConfig.Listen listen) {
        QueuedThreadPool threads = new QueuedThreadPool(200, 8);
        threads.setName("upstream-proxy");
        Server server = new Server(threads);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(listen.host());
        connector.setPort(listen.port());
        server.addConnector(connector);
        return server;
    }

    public int port() {
        return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }

    /** Graceful stop: close the listener, wait for in-flight requests, then stop everything; logs both ends. */
    public void stop() throws Exception {
        UpstreamRegistry registry = registry();
        int inFlight = registry == null ? 0 : inFlight(registry);
        LOG.info("upstream-proxy stopping: {} request(s) in flight, waiting up to {} s for them", inFlight, GRACE.toSeconds());
        long start = System.nanoTime();
        server.stop();
        if (demo != null) {
            demo.close();
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        int left = registry == null ? 0 : inFlight(registry);
        LOG.info("upstream-proxy stopped: drained in {} ms, {} request(s) cut off", ms, left);
    }

    private static int inFlight(UpstreamRegistry registry) {
        int n = 0;
        for (Upstream u : registry.all().values()) {
            for (io.upstreamproxy.upstream.Server s : u.servers()) {
                n += s.active();
            }
        }
        return n;
    }

    /** The start line: where it listens, what it balances, where state, status page and metrics are. */
    void logStart(ProxyConfig config) {
        String base = baseUrl(config);
        StringBuilder ups = new StringBuilder();
        for (Upstream u : registry().all().values()) {
            ups.append(ups.length() == 0 ? "" : ", ").append(u.name()).append(" (").append(u.servers().size())
                    .append(" server(s), ").append(u.config().balancer()).append(')');
        }
        LOG.info("upstream-proxy started: listening on {}:{}; upstreams {}; state {}; status {}{}; metrics {}{}; api {}{}",
                config.listen().host(), port(), ups, config.state().file() == null ? "not kept (no state.file)" : "file " + config.state().file(),
                base, config.status().path(), base, config.observe().metrics().path(), base, config.api().path());
    }

    /** SIGUSR1 reopens the access-log file, as nginx does, after logrotate moved it. */
    private void reopenAccessLogOnSignal() {
        Object log = context.getServletContext().getAttribute(UpstreamProxyListener.ACCESS_LOG_HANDLE_ATTRIBUTE);
        if (log instanceof AccessLog a) {
            Signals.on("USR1", () -> {
                a.reopen();
                LOG.info("SIGUSR1: reopening the access log");
            });
        }
    }

    /**
     * SIGTERM and Ctrl-C run shutdown hooks; ours stops gracefully and then ends the process
     * with 0, since a stop that drained cleanly is a success (the JVM would report 143).
     * Only signals get here: the process calls System.exit itself only before this is installed.
     */
    private void stopOnSignal() {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            int code = 0;
            try {
                stop();
            } catch (Exception e) {
                System.err.println("upstream-proxy: error while stopping: " + e);
                code = 1;
            }
            System.err.flush();
            System.out.flush();
            Runtime.getRuntime().halt(code);
        }, "upstream-proxy-stop"));
    }

    /** The URL a local user reaches the proxy at: the listen host, or loopback when it listens on every address. */
    private String baseUrl(ProxyConfig config) {
        String host = config.listen().host();
        String shown = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        return "http://" + (shown.contains(":") ? "[" + shown + "]" : shown) + ":" + port();
    }

    private void printBanner(PrintStream out, ProxyConfig config) {
        String base = baseUrl(config);
        out.println("upstream-proxy listening on " + base + "/ (config " + config.source() + ")");
        if (demo != null) {
            out.println("demo backends on " + String.join(", ", demo.addresses()));
        }
        out.println("try:");
        out.println("  curl " + base + "/");
        out.println("  curl " + base + config.api().path());
        out.flush();
    }

    /** A mistake of the user's: one line, exit code 2, no stack trace. */
    static final class UserError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UserError(String message) {
            super(message);
        }
    }

    /** The command line. */
    static final class Args {
        static final String USAGE = "usage: java -jar upstream-proxy.jar [--config FILE] [--port N] [--demo] [--no-access-log]"
                + " [--log-level trace|debug|info|warn|error|off]";
        Path config = Path.of("conf", "upstream-proxy.json");
        Integer port;
        boolean demo;
        boolean accessLog = true;
        String logLevel;
        boolean help;

        static Args parse(String[] args) {
            Args a = new Args();
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--config" -> a.config = Path.of(value(args, ++i, "--config"));
                    case "--port" -> {
                        String v = value(args, ++i, "--port");
                        try {
                            a.port = Integer.parseInt(v);
                        } catch (NumberFormatException e) {
                            a.port = -1;
                        }
                        if (a.port < 0 || a.port > 65535) {
                            throw new UserError("--port: " + v + " (expected: 0..65535)\n" + USAGE);
                        }
                    }
                    case "--demo" -> a.demo = true;
                    case "--no-access-log" -> a.accessLog = false;
                    case "--log-level" -> {
                        String v = value(args, ++i, "--log-level");
                        try {
                            a.logLevel = ObserveConfig.level("--log-level", v);
                        } catch (ConfigException e) {
                            throw new UserError(e.getMessage() + "\n" + USAGE);
                        }
                    }
                    case "--help", "-h" -> a.help = true;
                    default -> throw new UserError("unknown argument \"" + args[i] + "\"\n" + USAGE);
                }
            }
            return a;
        }

        private static String value(String[] args, int i, String flag) {
            if (i >= args.length) {
                throw new UserError(flag + ": missing value\n" + USAGE);
            }
            return args[i];
        }
    }
}
