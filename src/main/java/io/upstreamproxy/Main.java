package io.upstreamproxy;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ConfigWarnings;
import io.upstreamproxy.config.ObserveConfig;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.dns.DnsServers;
import io.upstreamproxy.http.JsonErrorHandler;
import io.upstreamproxy.listen.ProxyServerConnector;
import io.upstreamproxy.logging.LogSetup;
import io.upstreamproxy.logging.Signals;
import io.upstreamproxy.proxy.AccessLog;
import io.upstreamproxy.state.FileStateStore;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.listen.Connectors;
import io.upstreamproxy.listen.DrainingHandler;
import io.upstreamproxy.listen.HandOver;
import io.upstreamproxy.listen.ServerThreadPool;
import io.upstreamproxy.proxy.CoreProxyHandler;
import io.upstreamproxy.proxy.JettyWebSocketHandler;
import io.upstreamproxy.proxy.ProxyEngine;
import io.upstreamproxy.state.StateException;
import io.upstreamproxy.state.StateMerge;
import io.upstreamproxy.upstream.UpstreamRegistry;
import io.upstreamproxy.runtime.ProxyRuntime;
import io.upstreamproxy.runtime.Reloader;
import io.upstreamproxy.web.UpstreamProxyListener;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.component.LifeCycle;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.ThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar upstream-proxy.jar [--config FILE] [--port N] [--demo] [--no-access-log] [--log-level L] [--check]}: checks the config,
 * boots embedded Jetty with the same listener the WAR uses, and on SIGTERM stops as
 * {@code shutdown} says ({@link #stop}) and exits 0.
 */
public final class Main {
    static final int USER_ERROR = 2;
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private final Server server;
    /**
     * System property: {@code servlet} serves proxied requests through the servlet, as the WAR
     * does, instead of Jetty's core API ({@link CoreProxyHandler}, the default). The tests run
     * the end-to-end suite both ways; operators should not need it.
     */
    public static final String FRONT_END = "upstream-proxy.front-end";
    private final ServletContextHandler context;
    private final DemoBackends demo;
    private final ProxyRuntime runtime;
    private final ProxyConfig.Shutdown shutdown;
    private volatile HandOver handOver; // --pid-file, null without

    private Main(Server server, ServletContextHandler context, DemoBackends demo, ProxyRuntime runtime, ProxyConfig.Shutdown shutdown) {
        this.server = server;
        this.context = context;
        this.demo = demo;
        this.runtime = runtime;
        this.shutdown = shutdown;
    }

    public static void main(String[] args) {
        Args parsed;
        ProxyConfig config;
        try {
            parsed = Args.parse(args);
            if (parsed.help) {
                System.out.println(Args.help());
                return;
            }
            if (parsed.version) {
                System.out.println("upstream-proxy " + Version.get());
                return;
            }
            config = parsed.loadConfig();
            if (parsed.check) {
                check(config, System.out);
                return;
            }
            config = parsed.overrides(config);
            LogSetup.apply(config.observe().logLevel()); // before anything logs
        } catch (UserError e) {
            System.err.println("upstream-proxy: " + e.getMessage());
            System.exit(USER_ERROR);
            return;
        }
        Args given = parsed;
        Supplier<ProxyConfig> source = () -> given.overrides(given.loadConfig());
        try {
            HandOver handOver = parsed.pidFile == null ? null : new HandOver(parsed.pidFile);
            Main main = start(config, parsed.demo, parsed.accessLog, source);
            main.handOver = handOver;
            // Signals first: the banner says "ready", and a SIGHUP sent on it (systemd's reload, a
            // script) must find the handler in place, not the JVM's default that ends the process.
            main.stopOnSignal();
            main.reloadOnHangup();
            main.reopenAccessLogOnSignal();
            main.printBanner(System.out, config);
            main.logStart(config);
            if (handOver != null) {
                handOver.listening();
            }
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
            ProxyConfig c = ConfigLoader.load(file);
            DnsServers.checkNames(c);
            return c;
        } catch (NoSuchFileException e) {
            throw new UserError("cannot read " + file + ": no such file (use --config FILE)");
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage());
        } catch (ConfigException e) {
            throw new UserError(file + ": " + e.getMessage());
        }
    }

    /**
     * {@code --check}, like {@code nginx -t}: the config is valid (the caller loaded it), its
     * warnings, and the state file read and merged over it as a start would. A problem is a
     * {@link UserError}: the same one line start-up prints, exit code 2.
     */
    static void check(ProxyConfig config, PrintStream out) {
        String source = String.valueOf(config.source());
        ConfigWarnings.of(config).forEach(w -> out.println("upstream-proxy: warning: " + source + ": " + w));
        Path file = config.state().file();
        if (file != null) {
            try (DnsServers dns = DnsServers.system()) {
                RuntimeState saved = new FileStateStore(file).load();
                // names of "resolve" upstreams become their addresses, as the saved state knows them
                StateMerge.merge(dns.start(config, saved), saved).notes()
                        .forEach(n -> out.println("upstream-proxy: note: " + n));
            } catch (StateException e) {
                throw new UserError(e.getMessage());
            }
        }
        out.println("upstream-proxy: " + source + ": configuration ok" + (file == null ? "" : "; state file " + file + " ok"));
        out.flush();
    }

    /** Boots the proxy (and the demo backends); used by tests as well as by {@link #main}. */
    public static Main start(ProxyConfig config, boolean withDemo, boolean accessLog) throws Exception {
        return start(config, withDemo, accessLog, null);
    }

    /** {@code source} reads the config again for a reload (null: the file {@code config} came from). */
    public static Main start(ProxyConfig config, boolean withDemo, boolean accessLog, Supplier<ProxyConfig> source) throws Exception {
        DemoBackends demo = withDemo ? DemoBackends.start(config) : null;
        Server server = newServer(config.listeners(), config.proxy());
        // The runtime's upstream client and health probes run on this pool from their start,
        // before the listeners open: started now, and stopped with the server as its own bean.
        ThreadPool pool = server.getThreadPool();
        ((LifeCycle) pool).start();
        server.manage(pool);
        ProxyRuntime runtime;
        try {
            runtime = ProxyRuntime.start(config, new ProxyRuntime.Options(accessLog, source, server.getThreadPool(), false));
        } catch (RuntimeException e) {
            ((LifeCycle) pool).stop();
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
        ServletContextHandler context = new ServletContextHandler("/");
        context.addEventListener(new UpstreamProxyListener(runtime));
        context.setErrorHandler(new JsonErrorHandler());
        Handler handlers = new JettyWebSocketHandler(context, runtime.engine(), config);
        if (!"servlet".equals(System.getProperty(FRONT_END))) {
            handlers = new CoreProxyHandler(handlers, context, runtime.engine(), config.listeners().stream().allMatch(l -> l.tls() == null));
        }
        server.setHandler(new DrainingHandler(handlers)); // a stop waits for requests in flight, and serves those arriving meanwhile
        server.setStopTimeout(config.shutdown().timeout().toMillis());
        for (org.eclipse.jetty.server.Connector c : server.getConnectors()) {
            if (c instanceof ProxyServerConnector p) {
                p.idleTimeoutAtStop(config.shutdown().idleTimeout().toMillis());
            }
        }
        // Closed once the graceful part of a stop is over, before the thread pool stops: the
        // upstream client's selectors run on that pool, and would hold its stop for the timeout.
        server.addManaged(new AbstractLifeCycle() {
            @Override
            protected void doStop() {
                runtime.close();
            }
        });
        try {
            server.start();
        } catch (IOException e) {
            server.stop();
            runtime.close();
            if (demo != null) {
                demo.close();
            }
            throw new UserError("cannot listen on " + failedListener(server, config) + ": " + e.getMessage());
        } catch (RuntimeException e) {
            server.stop();
            runtime.close();
            if (demo != null) {
                demo.close();
            }
            throw e;
        }
        if (!server.isStarted()) {
            throw new IllegalStateException("the server did not start");
        }
        return new Main(server, context, demo, runtime, config.shutdown());
    }

    /** What the proxy runs on (tests reach the fleet node, the engine and the change applier this way). */
    public ProxyRuntime runtime() {
        return runtime;
    }

    /** The running upstreams (for tests and embedding). */
    public UpstreamRegistry registry() {
        return runtime.registry();
    }

    /** Re-reads the config and applies it (as SIGHUP and POST /api/reload do). */
    public Reloader.Outcome reload() {
        return runtime.reloader().reload();
    }

    /**
     * SIGHUP reloads, as for nginx. Without a handler the JVM treats HUP like TERM and exits,
     * an outage for an operator who meant to reload; with one, HUP never ends the process.
     * The reload runs on a thread of its own so the JVM's signal thread returns at once; the
     * Reloader logs the outcome and serializes overlapping signals.
     */
    private void reloadOnHangup() {
        Signals.on("HUP", () -> {
            Thread t = new Thread(() -> {
                try {
                    reload();
                } catch (RuntimeException e) {
                    System.err.println("upstream-proxy: reload failed: " + e);
                }
            }, "upstream-proxy-reload");
            t.setDaemon(true);
            t.start();
        }, "reload with POST /api/reload instead");
    }

    /** Embedded Jetty with one HTTP listener and the default client limits, not started (tests, the benchmark's bare server). */
    public static Server newServer(ProxyConfig.Listen listen) {
        return newServer(listen, new ProxyConfig.Proxy(Duration.ofSeconds(5), Duration.ofSeconds(60), 64 << 10, 256, 1024));
    }

    /** Embedded Jetty with one listener and the client-side limits of {@code proxy}, not started. */
    public static Server newServer(ProxyConfig.Listen listen, ProxyConfig.Proxy proxy) {
        return newServer(List.of(listen), proxy);
    }

    /**
     * Embedded Jetty with a connector per listener (plain, TLS, HTTP/2), not started: threads and
     * connectors as the proxy runs them, with the client-side limits of {@code proxy}
     * ({@link Connectors#addAll}). Errors Jetty answers itself (bad heads, bad URIs) come in the
     * proxy's JSON error shape.
     */
    public static Server newServer(List<ProxyConfig.Listen> listeners, ProxyConfig.Proxy proxy) {
        Server server = new Server(new ServerThreadPool(200, 8));
        try {
            Connectors.addAll(server, listeners, proxy);
        } catch (io.upstreamproxy.tls.PemException e) {
            throw new UserError(e.getMessage()); // the files changed since the config was checked
        }
        server.setErrorHandler(new JsonErrorHandler());
        return server;
    }

    /** True when proxied requests go through Jetty's core API ({@link CoreProxyHandler}), false through the servlet. */
    public boolean coreFrontEnd() {
        return server.getDescendant(CoreProxyHandler.class) != null;
    }

    /**
     * True when Jetty may handle a proxied request on the thread that read it: the core front
     * end on plain listeners only ({@link CoreProxyHandler} says why TLS changes that).
     */
    public boolean nonBlocking() {
        return server.getInvocationType() == Invocable.InvocationType.NON_BLOCKING;
    }

    /** The first listener's port. */
    public int port() {
        return port(0);
    }

    /** The clients' connections to listener {@code i} (tests). */
    public Collection<EndPoint> clientEndPoints(int i) {
        return server.getConnectors()[i].getConnectedEndPoints();
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

    /**
     * Graceful stop, each step logged: {@code /api/ready} answers 503 for {@code shutdown.delay}
     * while everything else goes on, so an outer balancer polling it stops sending; then every
     * HTTP/1.1 response says {@code Connection: close} ({@link #closeConnectionsFirst}), then
     * Jetty's graceful shutdown closes the listeners, sends GOAWAY on HTTP/2 connections and
     * gives requests in flight until {@code shutdown.timeout} to finish; then everything stops.
     */
    public void stop() throws Exception {
        UpstreamRegistry registry = registry();
        runtime.readiness().stopping();
        if (!shutdown.delay().isZero()) {
            LOG.info("upstream-proxy stopping: /api/ready answers 503, still serving for shutdown.delay {} ms", shutdown.delay().toMillis());
            Thread.sleep(shutdown.delay().toMillis()); // the delay itself: outer balancers see 503 and move away
        }
        int inFlight = registry == null ? 0 : inFlight(registry);
        LOG.info("upstream-proxy stopping: {} request(s) in flight; telling keep-alive clients to close, then closing the listeners;"
                + " waiting up to {} ms (shutdown.timeout)", inFlight, shutdown.timeout().toMillis());
        long start = System.nanoTime();
        long deadline = start + shutdown.timeout().toNanos();
        closeConnectionsFirst(deadline);
        closeWebSocketsLast(deadline);
        // What shutdown.timeout leaves, but a second at least: Jetty's graceful part fails the stop
        // when it cannot finish in time, and after WebSockets took the whole budget it still has
        // the listeners and the last idle connections to close.
        server.setStopTimeout(Math.max(1_000, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        server.stop();
        if (demo != null) {
            demo.close();
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        int left = registry == null ? 0 : inFlight(registry);
        LOG.info("upstream-proxy stopped: drained in {} ms, {} request(s) cut off", ms, left);
        if (handOver != null) {
            handOver.stopped();
        }
    }

    /**
     * Before Jetty's graceful stop (which closes the listeners, waits for requests in flight and
     * sends HTTP/2 connections GOAWAY): HTTP/1 responses say {@code Connection: close}
     * ({@link DrainingHandler#closeConnections} says why) until no client connection is left, or
     * none has had a request in flight for 200 ms (what remains is idle, and has
     * {@code shutdown.idle_timeout} from the listeners' close for a next request, answered with
     * close: {@link ProxyServerConnector#shutdown}), or 2 s passed, or the deadline. The listeners
     * stay open meanwhile: closing
     * them first (ServerConnector.setAccepting(false)) measured far worse in a reuse_port
     * hand-over under wrk, 312 read errors in three hand-overs against 1 this way.
     */
    private void closeConnectionsFirst(long deadlineNanos) throws InterruptedException {
        DrainingHandler draining = server.getDescendant(DrainingHandler.class);
        if (draining == null) {
            return;
        }
        draining.closeConnections();
        long end = Math.min(deadlineNanos, System.nanoTime() + TimeUnit.SECONDS.toNanos(2));
        long quietSince = System.nanoTime();
        while (System.nanoTime() < end) {
            boolean connections = false;
            for (Connector c : server.getConnectors()) {
                connections |= !c.getConnectedEndPoints().isEmpty();
            }
            if (!connections) {
                return;
            }
            if (draining.getCurrentRequestCount() > 0) {
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince > TimeUnit.MILLISECONDS.toNanos(200)) {
                return;
            }
            Thread.sleep(10); // the stop's own pace: it polls the connections it waits for
        }
    }

    /**
     * Open WebSockets live on until {@code shutdown.timeout} (nginx's
     * {@code worker_shutdown_timeout} too): a chat or a feed has no natural end to wait for,
     * yet most end by themselves when their clients reconnect elsewhere. At the deadline each
     * gets a close frame with status 1001 (going away) on both sides, so clients and servers
     * see a clean close rather than a cut connection; then the stop goes on.
     */
    private void closeWebSocketsLast(long deadlineNanos) throws InterruptedException {
        ProxyEngine engine = runtime.engine();
        if (engine.openWebSockets() == 0) {
            return;
        }
        LOG.info("upstream-proxy stopping: {} WebSocket(s) open; closing them with 1001 (going away) at shutdown.timeout, in {} ms",
                engine.openWebSockets(), Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())));
        while (engine.openWebSockets() > 0 && System.nanoTime() < deadlineNanos) {
            Thread.sleep(10); // the stop's own pace, as above
        }
        int left = engine.openWebSockets();
        if (left == 0) {
            return;
        }
        engine.closeWebSockets();
        long told = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (engine.openWebSockets() > 0 && System.nanoTime() < told) {
            Thread.sleep(10); // the close frames leave; what is still open after a second closes with the listeners
        }
        LOG.info("upstream-proxy stopping: {} WebSocket(s) told to go away (1001)", left);
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
        AccessLog a = runtime.accessLog();
        if (a != AccessLog.OFF) {
            Signals.on("USR1", () -> {
                a.reopen();
                LOG.info("SIGUSR1: reopening the access log");
            }, "rotate the access log with copytruncate instead (docs/logging.md)");
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

    /** The URL a local user reaches listener {@code i} at: its host, or loopback when it listens on every address. */
    private String baseUrl(ProxyConfig config, int i) {
        ProxyConfig.Listen l = config.listeners().get(i);
        String host = l.host();
        String shown = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        return (l.tls() == null ? "http://" : "https://") + (shown.contains(":") ? "[" + shown + "]" : shown) + ":" + port(i);
    }

    /** The first listener's URL (the start line's status, metrics and API URLs). */
    private String baseUrl(ProxyConfig config) {
        return baseUrl(config, 0);
    }

    private void printBanner(PrintStream out, ProxyConfig config) {
        String base = baseUrl(config);
        for (int i = 0; i < config.listeners().size(); i++) {
            ProxyConfig.Listen l = config.listeners().get(i);
            out.println("upstream-proxy listening on " + baseUrl(config, i) + "/" + (l.http2() ? " (HTTP/2 too)" : "")
                    + (i == 0 ? " (config " + config.source() + ")" : ""));
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

    /**
     * The command line: {@code --opt value} or {@code --opt=value}. Every option is in
     * {@link #OPTIONS}, which {@code --help} prints, defaults included.
     */
    static final class Args {
        /** Name, value placeholder (null: a flag), default, what it does. */
        record Option(String name, String value, String fallback, String help) {}

        static final List<Option> OPTIONS = List.of(
                new Option("--config", "FILE", "conf/upstream-proxy.json", "the configuration file"),
                new Option("--port", "N", "listen.port of the config", "listen on this port instead (0: any free port)"),
                new Option("--demo", null, "off", "also start in-process demo backends the default config points at"),
                new Option("--no-access-log", null, "access log on", "do not write one line per request to stderr"),
                new Option("--log-level", "LEVEL", "log.level of the config, else info", "trace, debug, info, warn, error or off"),
                new Option("--pid-file", "FILE", "none", "write the process id here; a process started with the same file and listen.reuse_port takes over from the one it names (docs/operations.md)"),
                new Option("--check", null, "off", "check the config and the state file, print the verdict, exit 0 (ok) or 2"),
                new Option("--version", null, "", "print the version and exit"),
                new Option("--help", null, "", "print this help and exit (also -h)"));
        /** conf/upstream-proxy.json, as the build copies it into the jar. */
        static final String EMBEDDED_DEMO_CONFIG = "/demo/upstream-proxy.json";
        static final Path DEFAULT_CONFIG = Path.of("conf", "upstream-proxy.json");
        static final String USAGE = "usage: java -jar upstream-proxy.jar [--config FILE] [--port N] [--demo] [--no-access-log] [--log-level LEVEL] [--pid-file FILE] [--check] [--version] [--help]";

        Path config = DEFAULT_CONFIG;
        boolean configGiven;
        Integer port;
        boolean demo;
        boolean accessLog = true;
        boolean check;
        boolean version;
        String logLevel;
        boolean help;
        Path pidFile;

        /**
         * The config the command line names. With {@code --demo} and no {@code --config}, where
         * the working directory has no {@code conf/upstream-proxy.json}, the copy of it the jar
         * carries, written to the temporary directory's {@code upstream-proxy-demo/} (its state
         * file goes there too, and a reload reads it there): the demo runs from any directory.
         */
        ProxyConfig loadConfig() {
            if (demo && !configGiven && !Files.exists(config)) {
                config = embeddedDemoConfig();
                configGiven = true; // written once; a reload reads what the operator may have edited
            }
            return Main.loadConfig(config);
        }

        private static Path embeddedDemoConfig() {
            Path file = Path.of(System.getProperty("java.io.tmpdir"), "upstream-proxy-demo", "upstream-proxy.json");
            try (InputStream in = Main.class.getResourceAsStream(EMBEDDED_DEMO_CONFIG)) {
                if (in == null) {
                    return DEFAULT_CONFIG; // a build without it: the missing file is named as usual
                }
                Files.createDirectories(file.getParent());
                Files.write(file, in.readAllBytes());
                return file;
            } catch (IOException e) {
                throw new UserError("cannot write the demo config to " + file + ": " + e.getMessage());
            }
        }

        /** The config with what the command line overrides ({@code --port}, {@code --log-level}). */
        ProxyConfig overrides(ProxyConfig c) {
            if (port != null) {
                c = c.withPort(port);
            }
            if (logLevel != null) {
                ProxyConfig.Observe o = c.observe();
                c = c.withObserve(new ProxyConfig.Observe(o.metrics(), o.accessLog(), logLevel));
            }
            return c;
        }

        static Args parse(String[] args) {
            Args a = new Args();
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                String inline = null;
                int eq = arg.indexOf('=');
                if (arg.startsWith("--") && eq > 0) {
                    inline = arg.substring(eq + 1);
                    arg = arg.substring(0, eq);
                }
                Option o = option(arg);
                if (o == null) {
                    throw new UserError("unknown argument \"" + args[i] + "\" (see --help)\n" + USAGE);
                }
                String v = null;
                if (o.value() != null) {
                    v = inline != null ? inline : value(args, ++i, arg);
                } else if (inline != null) {
                    throw new UserError(arg + ": takes no value (\"" + args[i] + "\")\n" + USAGE);
                }
                switch (o.name()) {
                    case "--config" -> {
                        a.config = Path.of(v);
                        a.configGiven = true;
                    }
                    case "--port" -> a.port = port(v);
                    case "--demo" -> a.demo = true;
                    case "--no-access-log" -> a.accessLog = false;
                    case "--log-level" -> {
                        try {
                            a.logLevel = ObserveConfig.level("--log-level", v);
                        } catch (ConfigException e) {
                            throw new UserError(e.getMessage() + "\n" + USAGE);
                        }
                    }
                    case "--pid-file" -> a.pidFile = Path.of(v);
                    case "--check" -> a.check = true;
                    case "--version" -> a.version = true;
                    default -> a.help = true;
                }
            }
            return a;
        }

        private static Option option(String name) {
            String n = name.equals("-h") ? "--help" : name;
            return OPTIONS.stream().filter(o -> o.name().equals(n)).findFirst().orElse(null);
        }

        private static int port(String v) {
            int port;
            try {
                port = Integer.parseInt(v);
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 0 || port > 65535) {
                throw new UserError("--port: " + v + " (expected: 0..65535)\n" + USAGE);
            }
            return port;
        }

        private static String value(String[] args, int i, String flag) {
            if (i >= args.length) {
                throw new UserError(flag + ": missing value\n" + USAGE);
            }
            return args[i];
        }

        /** What {@code --help} prints: the usage line, then each option with its default. */
        static String help() {
            StringBuilder b = new StringBuilder(USAGE).append("\n\noptions (--opt value and --opt=value both work):\n");
            for (Option o : OPTIONS) {
                String left = o.name() + (o.value() == null ? "" : " " + o.value());
                b.append(String.format("  %-18s %s%s%n", left, o.help(), o.fallback().isEmpty() ? "" : " (default: " + o.fallback() + ")"));
            }
            b.append("\nsignals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads the configuration (see docs/reload.md)");
            return b.toString();
        }
    }
}
