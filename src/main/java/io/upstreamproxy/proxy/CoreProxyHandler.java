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
 * access log only queues), so on plain listeners this handler says so to Jetty: a proxied
 * request is handled on the thread that read it, with no hand-off to another thread.
 * Everything else (the API, the status page, metrics, WebSocket upgrades) may block, and goes
 * on to {@code next} on a pool thread.
 *
 * <p>When any listener speaks TLS the handler says it may block, and Jetty reads and decrypts
 * on pool threads. Run non-blocking, TLS connections starve one another whenever the proxy's
 * threads wait for a CPU. With the load generator given priority ({@code nice -n -10 wrk}),
 * the p99 over TLS was 190-890 ms non-blocking and 11-18 ms blocking, where nginx's was 13 ms;
 * plain HTTP kept 6-7 ms either way (docs/benchmark.md, "The HTTPS tail"). Blocking costs
 * about a quarter more CPU per TLS request, for the hand-offs to pool threads.
 */
public final class CoreProxyHandler extends Handler.Wrapper {
    private static final Logger LOG = LoggerFactory.getLogger(CoreProxyHandler.class);

    private final ServletContextHandler context;
    private final boolean nonBlocking;
    private final ProxyEngine engine;

    /**
     * {@code next}: the handlers in front of {@code context} (or the context itself);
     * {@code nonBlocking}: whether to tell Jetty it may handle proxied requests on the thread
     * that read them (true unless a listener speaks TLS, see the class comment).
     */
    public CoreProxyHandler(Handler next, ServletContextHandler context, ProxyEngine engine, boolean nonBlocking) {
        super(next);
        this.context = context;
        this.engine = engine;
        this.nonBlocking = nonBlocking;
    }

    @Override
    public InvocationType getInvocationType() {
        return nonBlocking ? InvocationType.NON_BLOCKING : InvocationType.BLOCKING;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        if (proxied(request)) {
            new ProxyExchange(engine, new CoreClient(request, response, callback)).start();
            return true;
        }
        if (nonBlocking) {
            getServer().getThreadPool().execute(() -> handleBlocking(request, response, callback));
        } else {
            handleBlocking(request, response, callback); // already on a pool thread
        }
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
