package io.upstreamproxy.proxy;

import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHandler;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.pathmap.MatchedResource;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jar's proxy path: requests that the servlet mappings would give the proxy servlet are
 * served here, through Jetty's core API, without the servlet layer (no servlet request,
 * response or async context per exchange). Both paths run the same {@link ProxyEngine}, which
 * the context publishes when it starts; until then every request goes to the servlets.
 *
 * <p>Nothing on the proxy path blocks (bodies and responses move as the sockets allow, the
 * access log only queues), so this handler says so to Jetty: a proxied request is handled
 * on the thread that read it, with no hand-off to another thread. Everything else (the API,
 * the status page, metrics, WebSocket upgrades) may block, and goes on to {@code next} on a
 * pool thread.
 */
public final class CoreProxyHandler extends Handler.Wrapper {
    private static final Logger LOG = LoggerFactory.getLogger(CoreProxyHandler.class);

    private final ServletContextHandler context;
    private volatile ProxyEngine engine;

    /** {@code next}: the handlers in front of {@code context} (or the context itself). */
    public CoreProxyHandler(Handler next, ServletContextHandler context) {
        super(next);
        this.context = context;
    }

    @Override
    public InvocationType getInvocationType() {
        return InvocationType.NON_BLOCKING;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        ProxyEngine e = engine();
        if (e != null && proxied(request)) {
            new CoreExchange(e, request, response, callback).start();
            return true;
        }
        getServer().getThreadPool().execute(() -> handleBlocking(request, response, callback));
        return true;
    }

    /** The servlets' share, on a pool thread; 404 when nothing there takes the request. */
    private void handleBlocking(Request request, Response response, Callback callback) {
        try {
            if (!super.handle(request, response, callback)) {
                Response.writeError(request, response, callback, 404);
            }
        } catch (Throwable t) {
            LOG.debug("handling {}", request.getHttpURI(), t);
            Response.writeError(request, response, callback, t);
        }
    }

    private ProxyEngine engine() {
        ProxyEngine e = engine;
        if (e == null && context.getServletContext().getAttribute(ProxyEngine.ATTRIBUTE) instanceof ProxyEngine published) {
            engine = e = published;
        }
        return e;
    }

    /** What the servlet mappings give the proxy servlet, upgrades aside (the servlet tunnels those). */
    private boolean proxied(Request request) {
        if (request.getHeaders().contains(HttpHeader.UPGRADE)) {
            return false;
        }
        String path = request.getHttpURI().getDecodedPath();
        if (path == null || path.isEmpty()) {
            return false;
        }
        ServletHandler servlets = context.getServletHandler();
        MatchedResource<ServletHandler.MappedServlet> m = servlets == null ? null : servlets.getMatchedServlet(path);
        return m != null && ProxyEngine.SERVLET.equals(m.getResource().getServletHolder().getName());
    }
}
