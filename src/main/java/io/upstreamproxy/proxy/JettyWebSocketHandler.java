package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.upstream.Upstream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WebSocket in the jar: catches {@code Upgrade: websocket} in front of the servlets and, after
 * the server's 101, hands the client connection to a relay {@link Connection} through Jetty's
 * own upgrade hook ({@link HttpStream#UPGRADE_CONNECTION_ATTRIBUTE}, what Jetty's WebSocket
 * server uses). Everything else goes on to the servlets.
 *
 * <p>Why not {@code HttpServletRequest.upgrade()} as in a WAR: in Jetty 12.1 (ee10) the upgraded
 * input of a GET reports end of input at once unless the client's first bytes came with the
 * request head, and a WebSocket client always waits for the 101 first. At the connection
 * level the client is read without blocking, and the end point's idle timeout counts traffic
 * both ways, which is exactly the WebSocket idle rule.
 */
public final class JettyWebSocketHandler extends Handler.Wrapper {
    private static final Logger LOG = LoggerFactory.getLogger(JettyWebSocketHandler.class);

    private final Supplier<Router> router;
    private final WebSocketTunnel tunnel;
    private final String apiPath;
    private final String statusPath;

    /**
     * {@code router}: read per request, since the upstreams exist only once the context started.
     * The API and the status page keep their paths (and the access filter over them): an upgrade
     * there goes on to the servlets, as the servlet mappings would send it.
     */
    public JettyWebSocketHandler(Handler next, Supplier<Router> router, io.upstreamproxy.config.ProxyConfig config) {
        super(next);
        this.router = router;
        this.tunnel = new WebSocketTunnel(config.proxy());
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
        Router r = router.get();
        String query = request.getHttpURI().getQuery();
        HttpFields fields = request.getHeaders();
        String host = fields.get(HttpHeader.HOST) != null ? fields.get(HttpHeader.HOST) : request.getHttpURI().getAuthority();
        RouteRule rule = r == null ? null : r.match(new UpgradeRoute(host, routed, request.getMethod(),
                fields::get, query, listener));
        String name = rule == null ? null : rule.upstream();
        if (name == null) {
            return super.handle(request, response, callback); // the servlets answer (404, a redirect or return, the API, the status page)
        }
        rule.requested();
        Upstream upstream = r.upstream(name);
        path = ProxyExchange.forwardPath(rule, requestPath);
        List<String[]> headers = new ArrayList<>();
        for (HttpField f : request.getHeaders()) {
            headers.add(new String[] {f.getName(), f.getValue()});
        }
        WebSocketTunnel.Upgrade u = new WebSocketTunnel.Upgrade(query == null ? path : path + "?" + query, headers,
                Request.getRemoteAddr(request), request.isSecure(), request.getHeaders().get(HttpHeader.HOST),
                request.getHeaders().get(HttpHeader.X_FORWARDED_FOR));
        WebSocketTunnel.Result result = tunnel.open(u, upstream, new CoreRequestInfo(request, path));
        if (result instanceof WebSocketTunnel.Opened o) {
            Relay relay = new Relay(request.getConnectionMetaData().getConnection().getEndPoint(),
                    request.getConnectionMetaData().getConnector().getExecutor(), o.socket(), o.in(), tunnel.idleMillis(), o.ended());
            response.setStatus(101);
            for (String[] h : o.returned()) {
                response.getHeaders().add(h[0], h[1]);
            }
            response.getHeaders().put(HttpHeader.CONNECTION, "Upgrade");
            response.getHeaders().put(HttpHeader.UPGRADE, "websocket");
            request.setAttribute(HttpStream.UPGRADE_CONNECTION_ATTRIBUTE, relay);
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
        return true;
    }

    /** The client side after the upgrade: read without blocking, written to as the server sends. */
    private static final class Relay extends AbstractConnection implements Connection.UpgradeTo {
        private static final long STACK = 256 << 10;
        private final Socket socket;
        private final InputStream fromServer;
        private final long idleMillis;
        private final Runnable ended;
        private final AtomicBoolean closed = new AtomicBoolean();
        private final ByteBuffer in = ByteBuffer.allocate(16 << 10);
        private ByteBuffer early;
        private OutputStream toServer;

        Relay(EndPoint endPoint, Executor executor, Socket socket, InputStream fromServer, long idleMillis, Runnable ended) {
            super(endPoint, executor);
            this.socket = socket;
            this.fromServer = fromServer;
            this.idleMillis = idleMillis;
            this.ended = ended;
        }

        @Override
        public void onUpgradeTo(ByteBuffer buffer) {
            if (buffer != null && buffer.hasRemaining()) {
                early = ByteBuffer.allocate(buffer.remaining()).put(buffer).flip();
            }
        }

        @Override
        public void onOpen() {
            super.onOpen();
            getEndPoint().setIdleTimeout(idleMillis);
            try {
                socket.setSoTimeout(0); // the end point's idle timeout decides, for both directions
                toServer = socket.getOutputStream();
                if (early != null) {
                    toServer.write(early.array(), early.position(), early.remaining());
                    toServer.flush();
                    early = null;
                }
            } catch (IOException e) {
                getEndPoint().close(e);
                return;
            }
            // One small-stack thread per open WebSocket blocks on the server's socket: the price of
            // reaching servers (plain or TLS) with a socket that needs no second I/O framework.
            Thread pump = new Thread(null, this::serverToClient, "upstream-proxy-websocket", STACK);
            pump.setDaemon(true);
            pump.start();
            fillInterested();
        }

        @Override
        public void onFillable() {
            try {
                while (true) {
                    BufferUtil.clear(in); // Jetty's buffers are in flush mode: fill appends after the limit
                    int n = getEndPoint().fill(in);
                    if (n == 0) {
                        fillInterested();
                        return;
                    }
                    if (n < 0) {
                        getEndPoint().close();
                        return;
                    }
                    toServer.write(in.array(), in.arrayOffset() + in.position(), in.remaining());
                    toServer.flush();
                }
            } catch (IOException | RuntimeException e) {
                LOG.debug("WebSocket client side ended: {}", e.toString());
                getEndPoint().close(e);
            }
        }

        private void serverToClient() {
            byte[] buf = new byte[16 << 10];
            try {
                for (int n; (n = fromServer.read(buf)) >= 0; ) {
                    Callback.Completable written = new Callback.Completable();
                    getEndPoint().write(written, ByteBuffer.wrap(buf, 0, n));
                    written.get(); // back-pressure: read the server no faster than the client takes it
                }
            } catch (Exception e) {
                LOG.debug("WebSocket server side ended: {}", e.toString());
            } finally {
                getEndPoint().close();
            }
        }

        @Override
        protected boolean onReadTimeout(TimeoutException timeout) {
            return true; // no traffic either way for websocket_idle_timeout: close both sides
        }

        @Override
        public void onClose(Throwable cause) {
            super.onClose(cause);
            if (closed.compareAndSet(false, true)) {
                WebSocketTunnel.closeQuietly(socket);
                ended.run();
            }
        }
    }
}
