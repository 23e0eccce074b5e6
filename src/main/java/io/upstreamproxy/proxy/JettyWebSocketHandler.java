package io.upstreamproxy.proxy;

import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.listen.ProxyServerConnector;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.upstream.Upstream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * WebSocket in the jar: catches {@code Upgrade: websocket} in front of the servlets, opens the
 * server's side through {@link WebSocketTunnel} without blocking, and after the server's 101
 * hands the client connection to a relay {@link Connection} through Jetty's own upgrade hook
 * ({@link HttpStream#UPGRADE_CONNECTION_ATTRIBUTE}, what Jetty's WebSocket server uses).
 * Everything else goes on to the servlets.
 *
 * <p>Why not {@code HttpServletRequest.upgrade()} as in a WAR: in Jetty 12.1 (ee10) the upgraded
 * input of a GET reports end of input at once unless the client's first bytes came with the
 * request head, and a WebSocket client always waits for the 101 first. At the connection
 * level both sides are read without blocking and without a thread of their own, on the client's
 * event loop, and each end point's idle timeout counts traffic both ways, which is exactly the
 * WebSocket idle rule.
 */
public final class JettyWebSocketHandler extends Handler.Wrapper {
    private final ProxyEngine engine;
    private final String apiPath;
    private final String statusPath;

    /**
     * {@code engine}: the one every front end shares. The API
     * and the status page keep their paths (and the access filter over them): an upgrade there
     * goes on to the servlets, as the servlet mappings would send it.
     */
    public JettyWebSocketHandler(Handler next, ProxyEngine engine, io.upstreamproxy.config.ProxyConfig config) {
        super(next);
        this.engine = engine;
        this.apiPath = config.api().path();
        this.statusPath = config.status().path();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String listener = request.getConnectionMetaData().getConnector().getName();
        if (listener != null) { // for a route's listen matcher, behind the servlet front end
            request.setAttribute(ServletClient.LISTENER_ATTRIBUTE, listener);
        }
        if (!WebSocketTunnel.isUpgrade(request.getMethod(), request.getConnectionMetaData().getProtocol(),
                request.getHeaders().get(HttpHeader.UPGRADE))) {
            return super.handle(request, response, callback);
        }
        // Routed and forwarded as every other request is: dot-segments removed, so an upgrade to
        // /app/../ws goes where a GET to it would, never by its raw path.
        RequestPath requestPath = RequestPath.of(request.getHttpURI().getPath());
        if (requestPath == null) {
            return super.handle(request, response, callback); // the servlet answers 400, as for any request
        }
        String routed = requestPath.route();
        if (routed.equals(apiPath) || routed.startsWith(apiPath + "/") || routed.startsWith(statusPath)) {
            return super.handle(request, response, callback);
        }
        String path = requestPath.forward();
        ProxyEngine e = engine;
        Router r = e == null ? null : e.router();
        String query = request.getHttpURI().getQuery();
        HttpFields fields = request.getHeaders();
        String host = fields.get(HttpHeader.HOST) != null ? fields.get(HttpHeader.HOST) : request.getHttpURI().getAuthority();
        RouteRule rule = r == null ? null : r.match(new UpgradeRoute(host, routed, request.getMethod(),
                fields::get, query, listener));
        Upstream upstream = rule == null ? null : r.upstreamFor(rule, new CoreRequestInfo(request, path));
        if (upstream == null) {
            return super.handle(request, response, callback); // the servlets answer (404, a redirect or return, the API, the status page)
        }
        rule.requested();
        path = RouteEdits.forwardPath(rule, requestPath);
        List<String[]> headers = new ArrayList<>();
        for (HttpField f : request.getHeaders()) {
            headers.add(new String[] {f.getName(), f.getValue()});
        }
        EndPoint client = request.getConnectionMetaData().getConnection().getEndPoint();
        WebSocketTunnel.Upgrade u = new WebSocketTunnel.Upgrade(query == null ? path : path + "?" + query, headers,
                Request.getRemoteAddr(request), request.isSecure(), request.getHeaders().get(HttpHeader.HOST),
                request.getHeaders().get(HttpHeader.X_FORWARDED_FOR), request.getConnectionMetaData().getRemoteSocketAddress(),
                request.getConnectionMetaData().getLocalSocketAddress(), ProxyServerConnector.loopOf(client));
        Executor executor = request.getConnectionMetaData().getConnector().getExecutor();
        new WebSocketTunnel(e).open(u, upstream, new CoreRequestInfo(request, path), result -> answer(result, request, response, callback, client, executor));
        return true;
    }

    private static void answer(WebSocketTunnel.Result result, Request request, Response response, Callback callback, EndPoint client, Executor executor) {
        if (result instanceof WebSocketTunnel.Opened o) {
            response.setStatus(101);
            for (String[] h : o.returned()) {
                response.getHeaders().add(h[0], h[1]);
            }
            response.getHeaders().put(HttpHeader.CONNECTION, "Upgrade");
            response.getHeaders().put(HttpHeader.UPGRADE, "websocket");
            request.setAttribute(HttpStream.UPGRADE_CONNECTION_ATTRIBUTE, new Relay(client, executor, o));
            callback.succeeded(); // Jetty sends the 101 and gives the connection to the relay
        } else if (result instanceof WebSocketTunnel.Refused f) {
            response.setStatus(f.status());
            for (String[] h : f.headers()) {
                response.getHeaders().add(h[0], h[1]);
            }
            response.write(true, ByteBuffer.wrap(f.body()), callback);
        } else {
            WebSocketTunnel.Failed f = (WebSocketTunnel.Failed) result;
            response.setStatus(f.status());
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(ErrorBody.json(f.status(), f.code(), f.text()).getBytes(StandardCharsets.UTF_8)), callback);
        }
    }

    /** The client's side after the upgrade: read when the server took the last bytes, written as the server sends. */
    private static final class Relay extends AbstractConnection.NonBlocking implements Connection.UpgradeTo, OriginTunnel.Peer {
        private final WebSocketTunnel.Opened server;
        private final ByteBuffer in = BufferUtil.allocate(16 << 10);
        private ByteBuffer early;

        Relay(EndPoint endPoint, Executor executor, WebSocketTunnel.Opened server) {
            super(endPoint, executor);
            this.server = server;
        }

        @Override
        public void onUpgradeTo(ByteBuffer buffer) {
            early = WebSocketTunnel.Opened.early(buffer); // the client's first frames, read with the request head
        }

        @Override
        public void onOpen() {
            super.onOpen();
            getEndPoint().setIdleTimeout(server.idleMillis());
            server.start(this, early, this::fillInterested, this::close);
        }

        @Override
        public void onFillable() {
            OriginTunnel.relayOnce(getEndPoint()::fill, in, server.server()::write, this::fillInterested, this::close);
        }

        @Override
        public void write(ByteBuffer bytes, Callback done) {
            getEndPoint().write(done, bytes);
        }

        @Override
        protected boolean onReadTimeout(TimeoutException timeout) {
            return true; // no traffic either way for websocket_idle_timeout: close both sides
        }

        @Override
        public void onClose(Throwable cause) {
            super.onClose(cause);
            server.server().close();
        }
    }
}
