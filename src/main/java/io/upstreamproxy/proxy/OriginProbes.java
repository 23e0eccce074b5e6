package io.upstreamproxy.proxy;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.proxyprotocol.ProxyProtocolHeader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.InterruptedByTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Health probes on the upstream client the requests they judge go through ({@link OriginClient}):
 * the same resolution (every address of a name tried), TLS with the upstream's trust and
 * names, PROXY protocol header (the {@code LOCAL} kind: the proxy speaks for itself), response
 * parser, on the same selectors. A probe judging a server by a different client than the
 * traffic's would pass a server the traffic fails, or the reverse.
 *
 * <p>HTTP probes keep their connections alive between checks, in pools of their own (two
 * connections per server at most), never in the pools of proxied requests: a server whose pool
 * is full of slow requests must still be checked at once, not after them. A probe whose
 * connection broke after it opened, before the answer, is sent once more on a new one: a
 * kept-alive connection the server closed while idle, or a new one it closed before the request
 * arrived (a server with a short idle timeout, on a busy machine), is nobody's verdict. A
 * refused connect, a failed TLS handshake or the deadline is never repeated. One deadline
 * covers lookup, connect, request and answer.
 */
public final class OriginProbes {
    private static final int MAX_CONNECTIONS = 2;
    private static final int MAX_QUEUED = 16;
    private static final String USER_AGENT = "upstream-proxy-health-check";

    private final ProxyEngine engine;

    OriginProbes(ProxyEngine engine) {
        this.engine = engine;
    }

    /** A probe's answer: the status and the body's first bytes. */
    public record Answer(int status, byte[] body) {}

    /** What an HTTP probe sends: method, path, extra headers and an optional body. */
    public record Request(String method, String uri, Map<String, String> headers, String body) {}

    /**
     * Sends {@code request} to {@code target}, a server of {@code upstream}; the answer keeps up to
     * {@code maxBody} bytes of the body. Fails with {@link TimeoutException} past
     * {@code timeoutMillis}, or with what broke the exchange.
     */
    public CompletableFuture<Answer> http(ProxyConfig.UpstreamConfig upstream, HostPort target, Request request, int maxBody, long timeoutMillis) {
        OriginClient origins = engine.origins();
        OriginPool pool = origins.probePool(target, upstream.tls(), upstream.sendProxyProtocol(), MAX_CONNECTIONS, MAX_QUEUED);
        byte[] body = request.body() == null ? null : request.body().getBytes(StandardCharsets.UTF_8);
        HttpProbe probe = new HttpProbe(pool, head(target, request, body), body, request.method(), maxBody, timeoutMillis);
        probe.start(origins.scheduler());
        return probe.done;
    }

    /**
     * Opens a plain TCP connection to {@code target} (its name resolved and every address tried,
     * as for requests; no TLS: an agent speaks plain text, and a tcp check asks only that the
     * server accepts) and, when {@code readUpTo} is above 0, reads until a line ends, the server
     * closes, or that many bytes came: the connection's answer, empty when nothing was read.
     * Fails past {@code timeoutMillis} or when the connection cannot open.
     */
    public CompletableFuture<byte[]> connect(HostPort target, int readUpTo, long timeoutMillis) {
        OriginClient origins = engine.origins();
        CompletableFuture<byte[]> done = new CompletableFuture<>();
        Scheduler.Task timer = origins.scheduler().schedule(() -> done.completeExceptionally(new TimeoutException("no answer within " + timeoutMillis + " ms")),
                timeoutMillis, TimeUnit.MILLISECONDS);
        ClientConnectionFactory factory = (endPoint, context) -> new LineReader(endPoint, origins.executor(), readUpTo, done);
        origins.open(new OriginClient.Key(target.host(), target.port(), null, null), null, null, factory, Promise.from(
                c -> {
                    if (done.isDone()) {
                        c.close(); // timed out meanwhile
                    }
                },
                done::completeExceptionally));
        done.whenComplete((bytes, failure) -> timer.cancel());
        return done;
    }

    /** The HTTP/2 client of {@code grpc} checks: the one h2c and h2 upstreams use. */
    public HTTP2Client http2() {
        return engine.streams().http2();
    }

    /** The started TLS factory for an upstream's {@code tls}, shared with its requests. */
    public SslContextFactory.Client tls(ProxyConfig.UpstreamTls tls) {
        return engine.origins().sslFactory(tls);
    }

    private static ByteBuffer head(HostPort target, Request request, byte[] body) {
        HttpFields.Mutable fields = HttpFields.build();
        fields.put(HttpHeader.USER_AGENT, USER_AGENT);
        request.headers().forEach(fields::put);
        if (body != null) {
            fields.put(HttpHeader.CONTENT_LENGTH, body.length);
        }
        return OriginClient.head(request.method(), request.uri(), target.toString(), fields);
    }

    /** One HTTP probe: a pooled connection, the request, the answer's status and first bytes. */
    private static final class HttpProbe implements OriginPool.Waiter, OriginConnection.Listener {
        final CompletableFuture<Answer> done = new CompletableFuture<>();
        private final OriginPool pool;
        private final ByteBuffer head;
        private final byte[] body;
        private final boolean headRequest;
        private final int maxBody;
        private final long timeoutMillis;
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private volatile OriginConnection connection;
        private boolean resent; // once, on a new connection, after one that broke
        private int status;

        HttpProbe(OriginPool pool, ByteBuffer head, byte[] body, String method, int maxBody, long timeoutMillis) {
            this.pool = pool;
            this.head = head;
            this.body = body;
            this.headRequest = "HEAD".equals(method);
            this.maxBody = maxBody;
            this.timeoutMillis = timeoutMillis;
        }

        void start(Scheduler scheduler) {
            Scheduler.Task timer = scheduler.schedule(() -> {
                if (done.completeExceptionally(new TimeoutException("no answer within " + timeoutMillis + " ms"))) {
                    OriginConnection c = connection;
                    if (c != null) {
                        c.fail(new TimeoutException("health check timed out"));
                    }
                }
            }, timeoutMillis, TimeUnit.MILLISECONDS);
            done.whenComplete((a, failure) -> timer.cancel());
            pool.acquire(this);
        }

        @Override
        public ByteBuffer proxyHeader() {
            return pool.key().proxyProtocol() == null ? null : ProxyProtocolHeader.local(pool.key().proxyProtocol());
        }

        @Override
        public void onConnection(OriginConnection c) {
            if (done.isDone()) {
                pool.release(c); // timed out while it opened: the next probe takes it
                return;
            }
            connection = c;
            c.send(head.duplicate(), body == null ? null : ByteBuffer.wrap(body), null, false, headRequest, timeoutMillis, timeoutMillis, this);
        }

        @Override
        public void onNoConnection(Throwable failure) {
            done.completeExceptionally(failure);
        }

        @Override
        public void onHeaders(int code, HttpFields fields, Callback taken) {
            status = code;
            taken.succeeded();
        }

        @Override
        public void onContent(ByteBuffer content, boolean last, Callback taken) {
            int n = Math.min(content.remaining(), maxBody - received.size());
            if (n > 0) {
                byte[] bytes = new byte[n];
                content.get(bytes);
                received.write(bytes, 0, n);
            }
            taken.succeeded();
        }

        @Override
        public void onComplete(HttpFields trailers) {
            done.complete(new Answer(status, received.toByteArray()));
        }

        @Override
        public void onFailure(Throwable failure) {
            if (connectionBroke(failure) && !resent && !done.isDone()) {
                resent = true;
                connection = null;
                pool.acquireNew(this);
                return;
            }
            done.completeExceptionally(failure);
        }
    }

    /**
     * True when the failure came after the connection had opened and is not a timeout: a
     * connection the server closed or reset under the probe, worth one more try. A refused or
     * unresolved connect, a failed TLS handshake and a timeout are not.
     */
    static boolean connectionBroke(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException || t instanceof InterruptedByTimeoutException || t instanceof SocketTimeoutException
                    || t instanceof ConnectException || t instanceof NoRouteToHostException
                    || t instanceof UnknownHostException || t instanceof UnresolvedAddressException
                    || t instanceof javax.net.ssl.SSLHandshakeException) {
                return false;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return true;
    }

    /** A connection that reads one line (or nothing) and closes: {@code tcp} and {@code agent} checks. */
    private static final class LineReader extends AbstractConnection {
        private final int readUpTo;
        private final CompletableFuture<byte[]> done;
        private final ByteBuffer line;

        LineReader(EndPoint endPoint, java.util.concurrent.Executor executor, int readUpTo, CompletableFuture<byte[]> done) {
            super(endPoint, executor);
            this.readUpTo = readUpTo;
            this.done = done;
            this.line = BufferUtil.allocate(Math.max(1, readUpTo));
            done.whenComplete((bytes, failure) -> close());
        }

        @Override
        public void onOpen() {
            super.onOpen();
            if (readUpTo <= 0) {
                done.complete(new byte[0]); // connected: all a tcp check asks
            } else {
                fillInterested();
            }
        }

        @Override
        public void onFillable() {
            try {
                while (true) {
                    int pos = line.limit();
                    int n = getEndPoint().fill(line);
                    if (n < 0 || BufferUtil.isFull(line) || hasLineEnd(pos)) {
                        done.complete(BufferUtil.toArray(line));
                        return;
                    }
                    if (n == 0) {
                        fillInterested();
                        return;
                    }
                }
            } catch (IOException e) {
                done.completeExceptionally(e);
            }
        }

        private boolean hasLineEnd(int from) {
            for (int i = from; i < line.limit(); i++) {
                if (line.get(i) == '\n') {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void onClose(Throwable cause) {
            super.onClose(cause);
            done.complete(BufferUtil.toArray(line)); // closed before a line ended: what came, if anything
        }
    }
}
