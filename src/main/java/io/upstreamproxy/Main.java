package io.upstreamproxy;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.http.JsonErrorHandler;
import io.upstreamproxy.state.StateException;
import io.upstreamproxy.upstream.UpstreamRegistry;
import io.upstreamproxy.web.UpstreamProxyListener;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
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
        Server server = newServer(config.listen(), config.proxy());
        ServletContextHandler context = new ServletContextHandler("/");
        context.setAttribute(UpstreamProxyListener.CONFIG_ATTRIBUTE, config);
        context.setAttribute(UpstreamProxyListener.ACCESS_LOG_ATTRIBUTE, String.valueOf(accessLog));
        context.addEventListener(new UpstreamProxyListener());
        context.setErrorHandler(new JsonErrorHandler());
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

    /** {@link #newServer(ProxyConfig.Listen, ProxyConfig.Proxy)} with the default client limits. */
    public static Server newServer(ProxyConfig.Listen listen) {
        return newServer(listen, new ProxyConfig.Proxy(Duration.ofSeconds(5), Duration.ofSeconds(60), 64 << 10, 256, 1024));
    }

    /**
     * Embedded Jetty with its one HTTP listener, not started: threads and connector as the proxy
     * runs them, with the client-side limits of {@code proxy}. The head limit here is the one the
     * upstream client is sized from (see {@code UpstreamProxyServlet}), so whatever this listener
     * accepts the proxy can forward; anything larger is refused here with 414/431. The connector's
     * idle timeout is {@code client_header_timeout} (a client silent mid-head, or idle between
     * requests); while a body is read, the proxy sets {@code client_body_timeout} on the connection.
     */
    public static Server newServer(ProxyConfig.Listen listen, ProxyConfig.Proxy proxy) {
        QueuedThreadPool threads = new QueuedThreadPool(200, 8);
        threads.setName("upstream-proxy");
        Server server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(proxy.maxHeaderBytes());
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        // Jetty's per-connection cache of parsed header fields costs about 100 KiB of heap per
        // connection once it has served a request (an index sized for 1,024 entries): 2,500
        // keep-alive clients fill a 256 MiB heap. Without it each request allocates its
        // header fields anew, which costs far less than the OutOfMemoryError it caused under
        // 4,000 slow readers (docs/hardening.md).
        http.setHeaderCacheSize(0);
        // RFC 3986 with no violation allowed: ambiguous encodings (%2F, %2e%2e, %00, %25...)
        // are refused with 400 before any handler runs. Written out although it is Jetty's
        // default, because the proxy's routing relies on it (see docs/hardening.md).
        http.setUriCompliance(UriCompliance.DEFAULT);
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
        connector.setHost(listen.host());
        connector.setPort(listen.port());
        connector.setAcceptQueueSize(proxy.backlog());
        connector.setIdleTimeout(proxy.clientHeaderTimeout().toMillis());
        server.addConnector(connector);
        server.setErrorHandler(new JsonErrorHandler());
        return server;
    }

    public int port() {
        return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
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
        String host = config.listen().host();
        String shown = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        String base = "http://" + (shown.contains(":") ? "[" + shown + "]" : shown) + ":" + port();
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
