package io.upstreamproxy;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.listen.Connectors;
import io.upstreamproxy.proxy.JettyWebSocketHandler;
import io.upstreamproxy.proxy.Router;
import io.upstreamproxy.state.StateException;
import io.upstreamproxy.upstream.UpstreamRegistry;
import io.upstreamproxy.web.UpstreamProxyListener;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * {@code java -jar upstream-proxy.jar [--config FILE] [--port N] [--demo] [--no-access-log]}: checks the config,
 * boots embedded Jetty with the same listener the WAR uses, and on SIGTERM stops accepting,
 * lets in-flight requests finish (up to {@link #GRACE}) and exits 0.
 */
public final class Main {
    static final Duration GRACE = Duration.ofSeconds(30);
    static final int USER_ERROR = 2;

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
        } catch (UserError e) {
            System.err.println("upstream-proxy: " + e.getMessage());
            System.exit(USER_ERROR);
            return;
        }
        try {
            Main main = start(config, parsed.demo, parsed.accessLog);
            main.printBanner(System.out, config);
            main.stopOnSignal();
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
        Server server = newServer(config.listeners());
        ServletContextHandler context = new ServletContextHandler("/");
        context.setAttribute(UpstreamProxyListener.CONFIG_ATTRIBUTE, config);
        context.setAttribute(UpstreamProxyListener.ACCESS_LOG_ATTRIBUTE, String.valueOf(accessLog));
        context.addEventListener(new UpstreamProxyListener());
        server.setHandler(new GracefulHandler(new JettyWebSocketHandler(context, webSocketRoutes(context, config), config)));
        server.setStopTimeout(GRACE.toMillis());
        try {
            server.start();
        } catch (IOException e) {
            server.stop();
            if (demo != null) {
                demo.close();
            }
            throw new UserError("cannot listen on " + failedListener(server, config) + ": " + e.getMessage());
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

    /** The routes over the running upstreams, once the context has built them (null before). */
    private static Supplier<Router> webSocketRoutes(ServletContextHandler context, ProxyConfig config) {
        AtomicReference<Router> router = new AtomicReference<>();
        return () -> {
            Router r = router.get();
            if (r == null) {
                Object registry = context.getServletContext().getAttribute(UpstreamProxyListener.REGISTRY_ATTRIBUTE);
                if (registry instanceof UpstreamRegistry u) {
                    r = new Router(config.routes(), u);
                    router.set(r);
                }
            }
            return r;
        };
    }

    /** The running upstreams (for tests and embedding). */
    public UpstreamRegistry registry() {
        return (UpstreamRegistry) context.getServletContext().getAttribute(UpstreamProxyListener.REGISTRY_ATTRIBUTE);
    }

    /** Embedded Jetty with one HTTP listener, not started: threads and connector as the proxy runs them. */
    public static Server newServer(ProxyConfig.Listen listen) {
        return newServer(List.of(listen));
    }

    /** Embedded Jetty with a connector per listener (plain, TLS, HTTP/2), not started. */
    public static Server newServer(List<ProxyConfig.Listen> listeners) {
        QueuedThreadPool threads = new QueuedThreadPool(200, 8);
        threads.setName("upstream-proxy");
        Server server = new Server(threads);
        try {
            Connectors.addAll(server, listeners);
        } catch (io.upstreamproxy.tls.PemException e) {
            throw new UserError(e.getMessage()); // the files changed since the config was checked
        }
        return server;
    }

    /** The first listener's port. */
    public int port() {
        return port(0);
    }

    /** The port of listener {@code i}, in config order. */
    public int port(int i) {
        return ((ServerConnector) server.getConnectors()[i]).getLocalPort();
    }

    /** The first listener that did not open, as host:port, for the start-up error. */
    private static String failedListener(Server server, ProxyConfig config) {
        Connector[] connectors = server.getConnectors();
        for (int i = 0; i < connectors.length && i < config.listeners().size(); i++) {
            if (connectors[i] instanceof ServerConnector c && !c.isOpen()) {
                ProxyConfig.Listen l = config.listeners().get(i);
                return l.host() + ":" + l.port();
            }
        }
        return config.listen().host() + ":" + config.listen().port();
    }

    /** Graceful stop: close the listener, wait for in-flight requests, then stop everything. */
    public void stop() throws Exception {
        server.stop();
        if (demo != null) {
            demo.close();
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

    private void printBanner(PrintStream out, ProxyConfig config) {
        String base = null;
        for (int i = 0; i < config.listeners().size(); i++) {
            ProxyConfig.Listen l = config.listeners().get(i);
            String host = l.host();
            String shown = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
            String url = (l.tls() == null ? "http://" : "https://") + (shown.contains(":") ? "[" + shown + "]" : shown) + ":" + port(i);
            base = base == null ? url : base;
            out.println("upstream-proxy listening on " + url + "/" + (l.http2() ? " (HTTP/2 too)" : "") + (i == 0 ? " (config " + config.source() + ")" : ""));
        }
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
        static final String USAGE = "usage: java -jar upstream-proxy.jar [--config FILE] [--port N] [--demo] [--no-access-log]";
        Path config = Path.of("conf", "upstream-proxy.json");
        Integer port;
        boolean demo;
        boolean accessLog = true;
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
