package io.upstreamproxy.testing;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;

/** The real proxy (embedded Jetty, the same wiring as the jar) on 127.0.0.1, port 0. */
public final class RunningProxy implements AutoCloseable {
    private final Main main;
    public final ProxyConfig config;

    private RunningProxy(Main main, ProxyConfig config) {
        this.main = main;
        this.config = config;
    }

    /**
     * Starts from config JSON text. {@code listen} defaults to 127.0.0.1:0 when the text has none;
     * {@code source} anchors relative paths (state file).
     */
    public static RunningProxy start(String json, Path source) throws Exception {
        return start(json, source, false);
    }

    /** As {@link #start(String, Path)}, writing the access log where the config says (as the jar does unless told not to). */
    public static RunningProxy startWithAccessLog(String json, Path source) throws Exception {
        return start(json, source, true);
    }

    private static RunningProxy start(String json, Path source, boolean accessLog) throws Exception {
        ProxyConfig c = ConfigLoader.parse(json, source);
        if (!json.contains("\"listen\"")) {
            c = c.withListen(new ProxyConfig.Listen("127.0.0.1", 0));
        }
        return new RunningProxy(Main.start(c, false, accessLog), c);
    }

    public static RunningProxy start(String json) throws Exception {
        return start(json, null);
    }

    /** The proxy with one upstream, {@code web}, of the one server at {@code address} (host:port). */
    public static RunningProxy inFrontOf(String address) throws Exception {
        return start("{\"upstreams\": {\"web\": {\"servers\": [{\"server\": \"" + address + "\"}]}}}");
    }

    /** The live upstreams, to check counters and states the API would show. */
    public UpstreamRegistry registry() {
        return main.registry();
    }

    /** What the proxy runs on: the fleet node, the engine, the change applier, the reloader. */
    public io.upstreamproxy.runtime.ProxyRuntime runtime() {
        return main.runtime();
    }

    /** True when proxied requests go through Jetty's core API, false through the servlet (the WAR's way). */
    public boolean coreFrontEnd() {
        return main.coreFrontEnd();
    }

    /** True when Jetty may handle proxied requests on the thread that read them ({@link Main#nonBlocking}). */
    public boolean nonBlocking() {
        return main.nonBlocking();
    }

    /** The clients' connections to the first listener (the upstream ones are not among them). */
    public java.util.Collection<org.eclipse.jetty.io.EndPoint> clientEndPoints() {
        return main.clientEndPoints(0);
    }

    public int port() {
        return main.port();
    }

    public String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return Http.get(url(path));
    }

    @Override
    public void close() throws Exception {
        main.stop();
    }
}
