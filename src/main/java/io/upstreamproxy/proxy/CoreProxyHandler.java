package io.upstreamproxy.proxy;

import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHandler;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.pathmap.MatchedResource;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The jar's proxy path: requests that the servlet mappings would give the proxy servlet are
 * served here, through Jetty's core API, without the servlet layer (no servlet request,
 * response or async context per exchange: about a third of the proxy's CPU per request in
 * the benchmark, see docs/benchmark.md). Everything else (the API, the status page, metrics,
 * upgrades) goes on to the servlet context. Both paths run the same {@link ProxyEngine},
 * which the context publishes when it starts; until then every request goes to the servlets.
 */
public final class CoreProxyHandler extends Handler.Wrapper {
    private final ServletContextHandler context;
    private volatile ProxyEngine engine;

    public CoreProxyHandler(ServletContextHandler context) {
        super(context);
        this.context = context;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        ProxyEngine e = engine();
        if (e == null || !proxied(request)) {
            return super.handle(request, response, callback);
        }
        new CoreExchange(e, request, response, callback).start();
        return true;
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
