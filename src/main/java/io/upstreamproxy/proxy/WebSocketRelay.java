package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.upstream.Upstream;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpUpgradeHandler;
import jakarta.servlet.http.WebConnection;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WebSocket in a WAR: the upgrade through the servlet API ({@link HttpServletRequest#upgrade}).
 * Relays bytes between an upgraded client connection and the server's socket until either
 * side closes or both are idle for the WebSocket idle timeout; then closes both, so a close
 * or an error on one side reaches the other.
 *
 * <p>Client to server is driven by the container's non-blocking {@link ReadListener}; server
 * to client by one small-stack thread per open WebSocket that blocks on the server's socket.
 * That thread is the cost of reaching the server with a plain (possibly TLS) socket that works
 * unchanged in the jar, Tomcat and Jetty; it is paid only while a WebSocket is open.
 *
 * <p>Public with a no-argument constructor: the container instantiates it in
 * {@link jakarta.servlet.http.HttpServletRequest#upgrade}.
 */
public final class WebSocketRelay implements HttpUpgradeHandler {
    private static final Logger LOG = LoggerFactory.getLogger(WebSocketRelay.class);
    private static final long STACK = 256 << 10;

    private final AtomicBoolean closed = new AtomicBoolean();
    private Socket socket;
    private InputStream fromServer;
    private long idleMillis;
    private Runnable onClose;
    private WebConnection connection;
    private volatile long lastActivity = System.nanoTime();

    public WebSocketRelay() {
        // made by the container
    }

    /** Hands an upgrade request to {@code tunnel}; on 101 takes the client connection over. */
    static void open(WebSocketTunnel tunnel, HttpServletRequest request, HttpServletResponse response, Upstream upstream,
                     RequestInfo info, String target) throws IOException {
        List<String[]> headers = new ArrayList<>();
        for (String name : Collections.list(request.getHeaderNames())) {
            for (String value : Collections.list(request.getHeaders(name))) {
                headers.add(new String[] {name, value});
            }
        }
        WebSocketTunnel.Upgrade u = new WebSocketTunnel.Upgrade(target, headers, request.getRemoteAddr(), request.isSecure(),
                request.getHeader("Host"), request.getHeader("X-Forwarded-For"));
        WebSocketTunnel.Result result = tunnel.open(u, upstream, info);
        if (result instanceof WebSocketTunnel.Failed f) {
            ErrorBody.send(response, f.status(), f.code(), f.text());
        } else if (result instanceof WebSocketTunnel.Refused r) {
            response.setStatus(r.status());
            for (String[] h : r.headers()) {
                response.addHeader(h[0], h[1]);
            }
            response.setContentLength(r.body().length);
            response.getOutputStream().write(r.body());
        } else if (result instanceof WebSocketTunnel.Opened o) {
            try {
                for (String[] h : o.returned()) {
                    response.addHeader(h[0], h[1]);
                }
                response.setStatus(101);
                response.setHeader("Connection", "Upgrade");
                response.setHeader("Upgrade", "websocket");
                request.upgrade(WebSocketRelay.class).attach(o.socket(), o.in(), tunnel.idleMillis(), o.ended());
            } catch (ServletException | IOException | RuntimeException e) {
                WebSocketTunnel.closeQuietly(o.socket());
                o.ended().run();
                throw e instanceof IOException io ? io : new IOException("cannot take over the client connection: " + e.getMessage(), e);
            }
        }
    }

    /** Called by {@link WebSocketTunnel} before the container calls {@link #init}. */
    void attach(Socket socket, InputStream fromServer, long idleMillis, Runnable onClose) {
        this.socket = socket;
        this.fromServer = fromServer;
        this.idleMillis = idleMillis;
        this.onClose = onClose;
        if (closed.get()) {
            // A container that called init() inside upgrade(), before this (Jetty 12.1 ee10): it failed there.
            WebSocketTunnel.closeQuietly(socket);
            onClose.run();
        }
    }

    @Override
    public void init(WebConnection wc) {
        this.connection = wc;
        try {
            ServletInputStream in = wc.getInputStream();
            ServletOutputStream out = wc.getOutputStream();
            OutputStream toServer = socket.getOutputStream();
            Thread pump = new Thread(null, () -> serverToClient(out), "upstream-proxy-websocket", STACK);
            pump.setDaemon(true);
            pump.start();
            in.setReadListener(new ClientToServer(in, toServer));
        } catch (IOException | RuntimeException e) {
            LOG.debug("WebSocket relay could not start", e);
            close();
        }
    }

    private void serverToClient(ServletOutputStream out) {
        byte[] buf = new byte[16 << 10];
        try {
            while (!closed.get()) {
                int n;
                try {
                    long idleLeft = idleMillis - (System.nanoTime() - lastActivity) / 1_000_000;
                    if (idleLeft <= 0) {
                        LOG.debug("WebSocket idle for {} ms, closing", idleMillis);
                        break;
                    }
                    socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, idleLeft));
                    n = fromServer.read(buf);
                } catch (SocketTimeoutException e) {
                    continue; // the loop checks whether the client side was busy meanwhile
                }
                if (n < 0) {
                    break;
                }
                lastActivity = System.nanoTime();
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("WebSocket server side ended: {}", e.toString());
        } finally {
            close();
        }
    }

    private final class ClientToServer implements ReadListener {
        private final ServletInputStream in;
        private final OutputStream toServer;
        private final byte[] buf = new byte[16 << 10];

        ClientToServer(ServletInputStream in, OutputStream toServer) {
            this.in = in;
            this.toServer = toServer;
        }

        @Override
        public void onDataAvailable() throws IOException {
            try {
                while (in.isReady()) {
                    int n = in.read(buf);
                    if (n < 0) {
                        close();
                        return;
                    }
                    lastActivity = System.nanoTime();
                    toServer.write(buf, 0, n);
                    toServer.flush();
                }
            } catch (IOException | RuntimeException e) {
                close();
            }
        }

        @Override
        public void onAllDataRead() {
            close();
        }

        @Override
        public void onError(Throwable t) {
            close();
        }
    }

    @Override
    public void destroy() {
        close();
    }

    /** Closes both sides once and tells the server's counters the WebSocket ended. */
    void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        WebSocketTunnel.closeQuietly(socket);
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (Exception e) {
            LOG.debug("closing the client side: {}", e.toString());
        }
        if (onClose != null) {
            onClose.run();
        }
    }
}
