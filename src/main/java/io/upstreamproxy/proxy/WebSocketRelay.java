package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.upstream.Upstream;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpUpgradeHandler;
import jakarta.servlet.http.WebConnection;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable.InvocationType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WebSocket in a WAR: the upgrade through the servlet API ({@link HttpServletRequest#upgrade}),
 * or in a Jetty container through Jetty's own ({@link JettyContainerUpgrade}).
 * The handshake with the server runs on the upstream client's event loop while the request's
 * thread waits for its outcome (see {@link #open}), then answers it or upgrades. Then bytes flow between the upgraded client connection, read and written with the container's
 * non-blocking listeners, and the server's {@link OriginTunnel}: no thread waits on either side,
 * and each side reads its next bytes only once the other has written the last ones. When either
 * side closes, or both are idle for the WebSocket idle timeout, both close.
 *
 * <p>Public with a no-argument constructor: the container instantiates it in
 * {@link jakarta.servlet.http.HttpServletRequest#upgrade}.
 */
public final class WebSocketRelay implements HttpUpgradeHandler, OriginTunnel.Peer {
    private static final Logger LOG = LoggerFactory.getLogger(WebSocketRelay.class);

    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicReference<Pending> pending = new AtomicReference<>();
    private final byte[] buf = new byte[16 << 10];
    private WebSocketTunnel.Opened server; // guarded by this until started
    private WebConnection connection;      // guarded by this until started
    private ServletInputStream in;
    private ServletOutputStream out;

    public WebSocketRelay() {
        // made by the container
    }

    /** Bytes from the server waiting for the client connection to take them. */
    private record Pending(ByteBuffer bytes, Callback done) {}

    /**
     * Opens the server's side for an upgrade request and answers the outcome: the server's
     * refusal, our error, or the upgrade. The container's thread waits for the handshake's
     * outcome (bounded by the connect and read timeouts; no socket blocks, the handshake runs on
     * the upstream client's event loop): Tomcat takes an upgrade only from the request's first
     * dispatch, never from an async one, so the answer cannot wait elsewhere.
     */
    static void open(WebSocketTunnel tunnel, HttpServletRequest request, HttpServletResponse response, Upstream upstream,
                     RequestInfo info, String target, Duration bound) throws IOException {
        List<String[]> headers = new ArrayList<>();
        for (String name : Collections.list(request.getHeaderNames())) {
            for (String value : Collections.list(request.getHeaders(name))) {
                headers.add(new String[] {name, value});
            }
        }
        WebSocketTunnel.Upgrade u = new WebSocketTunnel.Upgrade(target, headers, request.getRemoteAddr(), request.isSecure(),
                request.getHeader("Host"), request.getHeader("X-Forwarded-For"),
                ServletClient.socket(request.getRemoteAddr(), request.getRemotePort()),
                ServletClient.socket(request.getLocalAddr(), request.getLocalPort()), null);
        CompletableFuture<WebSocketTunnel.Result> outcome = new CompletableFuture<>();
        tunnel.open(u, upstream, info, outcome::complete);
        WebSocketTunnel.Result result;
        try {
            result = outcome.get(bound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the server answered the upgrade", e);
        } catch (ExecutionException | TimeoutException e) {
            outcome.thenAccept(late -> {
                if (late instanceof WebSocketTunnel.Opened o) {
                    o.server().close();
                }
            });
            ErrorBody.send(response, 504, "GatewayTimeout", "no answer to the WebSocket upgrade within " + bound.toMillis() + " ms");
            return;
        }
        answer(result, request, response);
    }

    private static void answer(WebSocketTunnel.Result result, HttpServletRequest request, HttpServletResponse response) throws IOException {
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
                if (!JettyContainerUpgrade.takeOver(request, o)) { // Jetty's servlet upgrade cannot carry a WebSocket
                    request.upgrade(WebSocketRelay.class).attach(o);
                }
            } catch (ServletException | IOException | RuntimeException e) {
                o.server().close();
                throw e instanceof IOException io ? io : new IOException("cannot take over the client connection: " + e.getMessage(), e);
            }
        }
    }

    /** The server's side, given once the container made this handler (before or after {@link #init}). */
    void attach(WebSocketTunnel.Opened opened) {
        synchronized (this) {
            server = opened;
        }
        start();
    }

    @Override
    public void init(WebConnection wc) {
        synchronized (this) {
            connection = wc;
        }
        start();
    }

    /** Once both sides are here: listeners on the client's streams, then the server's side relays. */
    private void start() {
        WebSocketTunnel.Opened s;
        WebConnection wc;
        synchronized (this) {
            s = server;
            wc = connection;
            if (s == null || wc == null || in != null) {
                return;
            }
            try {
                in = wc.getInputStream();
                out = wc.getOutputStream();
            } catch (IOException | RuntimeException e) {
                LOG.debug("WebSocket relay could not start", e);
                in = null;
            }
        }
        if (in == null) {
            close();
            return;
        }
        try {
            out.setWriteListener(new ToClient());
            in.setReadListener(new FromClient());
        } catch (RuntimeException e) {
            LOG.debug("WebSocket relay could not start", e);
            close();
            return;
        }
        s.relay(this);
    }

    /** Bytes from the server to the client: written when the connection is ready; {@code done} once they left. */
    @Override
    public void write(ByteBuffer bytes, Callback done) {
        pending.set(new Pending(bytes, done));
        try {
            if (out.isReady()) {
                writePending();
            }
        } catch (RuntimeException e) {
            failPending(e);
        }
    }

    /**
     * Writes the pending bytes, flushes them, and completes their callback once the container
     * took them all (or leaves that to the next {@code onWritePossible}). Runs on the server's
     * side after {@code isReady()} said yes, or in the container's {@code onWritePossible}.
     * The pending bytes are published before every {@code isReady()} that may register for
     * {@code onWritePossible}, and whoever takes them carries on: the callback completes once
     * and no wake-up is lost. Tomcat keeps a non-blocking write in its buffer until flushed,
     * and refuses a flush unless {@code isReady()} said yes just before.
     */
    private void writePending() {
        Pending p = pending.getAndSet(null);
        if (p == null) {
            return;
        }
        try {
            ByteBuffer b = p.bytes();
            if (b.hasRemaining()) {
                out.write(b.array(), b.arrayOffset() + b.position(), b.remaining());
                b.position(b.limit());
            }
            pending.set(p);
            if (!out.isReady() || !pending.compareAndSet(p, null)) {
                return; // onWritePossible carries on
            }
            out.flush();
            pending.set(p);
            if (out.isReady() && pending.compareAndSet(p, null)) {
                p.done().succeeded();
            }
        } catch (IOException | RuntimeException e) {
            pending.set(null);
            p.done().failed(e);
        }
    }

    private void failPending(Throwable failure) {
        Pending p = pending.getAndSet(null);
        if (p != null) {
            p.done().failed(failure);
        }
    }

    private final class ToClient implements WriteListener {
        @Override
        public void onWritePossible() {
            writePending();
        }

        @Override
        public void onError(Throwable t) {
            failPending(t);
            close();
        }
    }

    private final class FromClient implements ReadListener {
        @Override
        public void onDataAvailable() {
            readNext();
        }

        @Override
        public void onAllDataRead() {
            close();
        }

        @Override
        public void onError(Throwable t) {
            close(); // the client went away (Tomcat reports its close as an error)
        }
    }

    /**
     * Reads the client's next bytes when there are some and passes them to the server; reads
     * again once they are written. When nothing is ready the container calls
     * {@code onDataAvailable} later.
     */
    private void readNext() {
        try {
            while (in.isReady()) {
                int n = in.read(buf);
                if (n < 0) {
                    close();
                    return;
                }
                if (n > 0) {
                    server.server().write(ByteBuffer.wrap(buf, 0, n), Callback.from(InvocationType.NON_BLOCKING, this::readNext, f -> close()));
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("WebSocket client side ended: {}", e.toString());
            close();
        }
    }

    @Override
    public void destroy() {
        close();
    }

    /** Closes both sides once; the server's side ends its lease. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        WebSocketTunnel.Opened s;
        WebConnection wc;
        synchronized (this) {
            s = server;
            wc = connection;
        }
        if (s != null) {
            s.server().close();
        }
        try {
            if (wc != null) {
                wc.close();
            }
        } catch (Exception e) {
            LOG.debug("closing the client side: {}", e.toString());
        }
    }
}
