package io.upstreamproxy.proxy;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.upstream.Upstream;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;

/**
 * The WAR's proxy: a Jetty {@link AsyncProxyServlet}, as the project was first asked for, whose
 * {@code service} hands every request to the same pipeline as the jar's
 * ({@link ProxyExchange}) through the servlet door ({@link ServletClient}). Upstream I/O is the
 * jar's own HTTP/1.1 client ({@link OriginClient}) rather than the base class's
 * {@code HttpClient}: one upstream client for every front end, so trailers, stale pooled
 * connections, retries and failure accounting are the same in the jar, Tomcat and Jetty. What
 * the base class still gives is its servlet life cycle, {@code getViaHost} and the log; the
 * header rules it implements ({@code copyRequestHeaders}, {@code addProxyHeaders}) are
 * {@link CoreHeaders}', shared with the jar. WebSocket upgrades go to the
 * {@link WebSocketTunnel} through the container's upgrade ({@link WebSocketRelay}).
 */
public class UpstreamProxyServlet extends AsyncProxyServlet {
    private static final long serialVersionUID = 1L;
    public static final String SERVER_EXECUTOR = "org.eclipse.jetty.server.Executor";
    /** What we call ourselves in {@code Via}. */
    static final String VIA = "upstream-proxy";

    private final transient ProxyEngine engine;

    /** The servlet front end of {@code engine} (its runtime closes it). */
    public UpstreamProxyServlet(ProxyEngine engine) {
        this.engine = engine;
    }

    /**
     * The base class's client, which no request uses (they go through {@link OriginClient}):
     * made but never started, so it holds no thread, selector or connection.
     */
    @Override
    protected HttpClient createHttpClient() throws ServletException {
        return new HttpClient();
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        if (WebSocketTunnel.isUpgrade(request.getMethod(), request.getProtocol(), request.getHeader("Upgrade"))) {
            upgrade(request, response);
            return;
        }
        new ProxyExchange(engine, new ServletClient(request, response)).start();
    }

    /** A WebSocket upgrade, routed by its normalised path as every request is. */
    private void upgrade(HttpServletRequest request, HttpServletResponse response) throws IOException {
        RequestPath path = RequestPath.of(request);
        if (path == null) {
            ErrorBody.send(response, 400, "BadRequest", "path climbs above the root");
            return;
        }
        String query = request.getQueryString();
        RouteRule rule = engine.router().match(new UpgradeRoute(request.getHeader("Host"), path.route(), request.getMethod(),
                request::getHeader, query, request.getAttribute(ServletClient.LISTENER_ATTRIBUTE) instanceof String l ? l : null));
        ServletRequestInfo info = new ServletRequestInfo(request, path.forward());
        Upstream upstream = rule == null ? null : engine.router().upstreamFor(rule, info);
        if (upstream == null) { // no route, or a redirect or return: the exchange answers as for any request
            new ProxyExchange(engine, new ServletClient(request, response)).start();
            return;
        }
        rule.requested();
        String forward = RouteEdits.forwardPath(rule, path);
        String target = query == null ? forward : forward + "?" + query;
        ProxyConfig.Proxy settings = engine.settings();
        // Each server tried may take the connect and read timeouts; the handshake ends by itself within them.
        Duration bound = settings.connectTimeout().plus(settings.readTimeout()).multipliedBy(Math.max(1, upstream.servers().size()) + 1L);
        WebSocketRelay.open(new WebSocketTunnel(engine), request, response, upstream, info, target, bound);
    }

    /** A fixed pseudonym in {@code Via}: neither our host name nor any version (Jetty's default names the host). */
    @Override
    public String getViaHost() {
        return VIA;
    }
}
