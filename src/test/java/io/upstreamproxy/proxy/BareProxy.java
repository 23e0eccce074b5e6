package io.upstreamproxy.proxy;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ProxyConfig;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The proxy with our features taken out, for {@code bench/run.sh --bare}: the same Jetty server,
 * HTTP client, header rewriting and response writer as {@link UpstreamProxyServlet}, but no
 * routing, balancer, eligibility checks, counters, passive health, retries or access log: each
 * request goes to the next of a fixed list of servers. Bodiless requests only (the benchmark
 * sends GETs). Run: {@code java -cp target/test-classes:target/upstream-proxy.jar
 * io.upstreamproxy.proxy.BareProxy PORT HOST:PORT...}.
 */
public final class BareProxy {
    private BareProxy() {}

    public static void main(String[] args) throws Exception {
        String[] servers = Arrays.copyOfRange(args, 1, args.length);
        Server server = Main.newServer(new ProxyConfig.Listen("127.0.0.1", Integer.parseInt(args[0])));
        ServletContextHandler context = new ServletContextHandler("/");
        ServletHolder proxy = new ServletHolder("bare", new BareServlet(servers));
        proxy.setAsyncSupported(true);
        proxy.setInitOrder(1);
        context.addServlet(proxy, "/");
        server.setHandler(new GracefulHandler(context));
        server.start();
        server.join();
    }

    /** Round-robin over fixed servers with nothing else on the request path. */
    static final class BareServlet extends AsyncProxyServlet {
        private static final long serialVersionUID = 1L;
        private static final String WRITER = ResponseWriter.class.getName();
        // The defaults our config gives when "proxy" is absent.
        private static final ProxyConfig.Proxy SETTINGS = new ProxyConfig.Proxy(Duration.ofSeconds(5), Duration.ofSeconds(60), 64 << 10, 256, 1024);
        private final String[] servers;
        private final AtomicInteger next = new AtomicInteger();

        BareServlet(String[] servers) {
            this.servers = servers;
        }

        @Override
        protected HttpClient createHttpClient() throws ServletException {
            return UpstreamProxyServlet.newUpstreamClient(SETTINGS, getServletContext().getAttribute(UpstreamProxyServlet.SERVER_EXECUTOR));
        }

        @Override
        protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
            String query = request.getQueryString();
            String target = "http://" + servers[Math.floorMod(next.getAndIncrement(), servers.length)]
                    + request.getRequestURI() + (query == null ? "" : "?" + query);
            AsyncContext async = request.startAsync();
            async.setTimeout(0);
            ResponseWriter writer = new ResponseWriter(response.getOutputStream(), t -> { });
            request.setAttribute(WRITER, writer);
            response.getOutputStream().setWriteListener(writer);
            Request proxyRequest = newProxyRequest(request, target);
            copyRequestHeaders(request, proxyRequest);
            addProxyHeaders(request, proxyRequest);
            proxyRequest.timeout(0, TimeUnit.MILLISECONDS);
            proxyRequest.idleTimeout(SETTINGS.readTimeout().toMillis(), TimeUnit.MILLISECONDS);
            sendProxyRequest(request, response, proxyRequest);
        }

        @Override
        protected void copyRequestHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
            super.copyRequestHeaders(clientRequest, proxyRequest);
            UpstreamProxyServlet.dropExpect(proxyRequest);
        }

        @Override
        protected void addProxyHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
            super.addProxyHeaders(clientRequest, proxyRequest);
            UpstreamProxyServlet.addForwardedHeaders(clientRequest, proxyRequest);
        }

        @Override
        protected void addViaHeader(HttpServletRequest clientRequest, Request proxyRequest) {
            if (!ProxyHeaders.addVia(clientRequest, proxyRequest, getViaHost())) {
                super.addViaHeader(clientRequest, proxyRequest);
            }
        }

        @Override
        protected void addForwardedHeader(HttpServletRequest clientRequest, Request proxyRequest) {
            if (!ProxyHeaders.addForwarded(clientRequest, proxyRequest)) {
                super.addForwardedHeader(clientRequest, proxyRequest);
            }
        }

        @Override
        protected void onResponseContent(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Response serverResponse,
                                         byte[] buffer, int offset, int length, Callback callback) {
            ((ResponseWriter) clientRequest.getAttribute(WRITER)).write(serverResponse, buffer, offset, length, callback);
        }
    }
}
