package io.upstreamproxy;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ServerConfig;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;

/**
 * {@code --demo}: a tiny HTTP server on every loopback address the config's upstreams name, so
 * the default config proxies real traffic on a fresh machine. Each answers with its own address
 * (so balancing is visible) and {@code ok} on {@code /health}.
 */
final class DemoBackends implements AutoCloseable {
    private final List<Server> servers = new ArrayList<>();

    static DemoBackends start(ProxyConfig config) throws Exception {
        DemoBackends demo = new DemoBackends();
        try {
            for (ProxyConfig.UpstreamConfig u : config.upstreams().values()) {
                for (ServerConfig s : u.servers()) {
                    HostPort a = s.address();
                    if (a.host().equals("127.0.0.1") || a.host().equals("localhost")) {
                        demo.servers.add(backend(a));
                    }
                }
            }
        } catch (Exception e) {
            demo.close();
            throw e;
        }
        return demo;
    }

    List<String> addresses() {
        return servers.stream().map(s -> "127.0.0.1:" + ((ServerConnector) s.getConnectors()[0]).getLocalPort()).toList();
    }

    private static Server backend(HostPort address) throws Exception {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(address.port());
        server.addConnector(connector);
        String name = address.toString();
        server.setHandler(new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                boolean health = Request.getPathInContext(request).equals("/health");
                String body = health ? "ok\n" : "hello from demo backend " + name + " (" + request.getMethod() + " "
                        + request.getHttpURI().getPathQuery() + ")\n";
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
                response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
        });
        try {
            server.start();
        } catch (Exception e) {
            server.stop();
            throw new IllegalStateException("demo backend cannot listen on " + name + ": " + e.getMessage(), e);
        }
        return server;
    }

    @Override
    public void close() throws Exception {
        for (Server s : servers) {
            s.stop();
        }
    }
}
