package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.listen.ProxyServerConnector;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** The jar's door: the client's side of an exchange in Jetty's core API, no servlet layer. */
final class CoreClient implements ClientSide, Content.Source {
    private final Request request;
    private final Response response;
    private final Callback callback;
    // Read to learn whether an HTTP/2 request has a body: the body reader's first chunk. Taken
    // once, by the reader or by the exchange's end, whichever comes first.
    private final AtomicReference<Content.Chunk> peeked = new AtomicReference<>();

    CoreClient(Request request, Response response, Callback callback) {
        this.request = request;
        this.response = response;
        this.callback = callback;
    }

    @Override
    public String method() {
        return request.getMethod();
    }

    @Override
    public String protocol() {
        return request.getConnectionMetaData().getProtocol();
    }

    @Override
    public String rawPath() {
        return request.getHttpURI().getPath();
    }

    @Override
    public String contextPath() {
        return "";
    }

    @Override
    public String query() {
        return request.getHttpURI().getQuery();
    }

    @Override
    public String scheme() {
        return request.getHttpURI().getScheme();
    }

    @Override
    public String host() {
        String host = request.getHeaders().get(HttpHeader.HOST);
        return host != null ? host : request.getHttpURI().getAuthority(); // HTTP/2: :authority
    }

    @Override
    public String listener() {
        return request.getConnectionMetaData().getConnector().getName();
    }

    @Override
    public HttpFields requestHeaders() {
        return request.getHeaders();
    }

    @Override
    public String remoteAddr() {
        return Request.getRemoteAddr(request);
    }

    @Override
    public String localAddr() {
        return Request.getLocalAddr(request);
    }

    @Override
    public SocketAddress remoteSocket() {
        return request.getConnectionMetaData().getRemoteSocketAddress();
    }

    @Override
    public SocketAddress localSocket() {
        return request.getConnectionMetaData().getLocalSocketAddress();
    }

    /**
     * In HTTP/1.1 a request has a body only with Content-Length or Transfer-Encoding. In HTTP/2
     * and 3 a body may come without a Content-Length: the stream's first read says whether the
     * head ended the stream (no body) or not (a body of unknown length, streamed). What that
     * read returned is kept for the body's reader.
     */
    @Override
    public long bodyLength() {
        if (request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING)) {
            return -1;
        }
        long declared = request.getLength();
        if (declared >= 0 || request.getConnectionMetaData().getHttpVersion().getVersion() < 20) {
            return Math.max(0, declared);
        }
        Content.Chunk first = request.read();
        if (first != null && first.isLast() && !first.hasRemaining() && !Content.Chunk.isFailure(first)) {
            first.release();
            return 0; // the head ended the stream
        }
        peeked.set(first);
        return -1;
    }

    @Override
    public Content.Source body() {
        return this;
    }

    @Override
    public Content.Chunk read() {
        Content.Chunk chunk = peeked.getAndSet(null);
        return chunk != null ? chunk : request.read();
    }

    @Override
    public void demand(Runnable demandCallback) {
        request.demand(demandCallback);
    }

    @Override
    public void fail(Throwable failure) {
        request.fail(failure);
    }

    @Override
    public RequestInfo info(String path) {
        return new CoreRequestInfo(request, path);
    }

    /** HTTP/2 streams share their connection's timeout: only an HTTP/1 connection's is changed. */
    @Override
    public void idleTimeout(long millis) {
        if (request.getConnectionMetaData().getHttpVersion().getVersion() < 20) {
            EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
            endPoint.setIdleTimeout(millis >= 0 ? millis : request.getConnectionMetaData().getConnector().getIdleTimeout());
        }
    }

    @Override
    public boolean closedByClient() {
        try {
            return request.getConnectionMetaData().getConnection().getEndPoint().isInputShutdown();
        } catch (RuntimeException e) {
            return true; // torn down with its connection
        }
    }

    /**
     * Jetty's failure listeners hear a reset stream, a failed connection and the idle timeout;
     * an HTTP/1.1 client's socket, which Jetty does not read while the request is handled, is
     * watched for its close by the listener ({@link ProxyServerConnector.ClientEndPoint#whenClosedUnread}).
     */
    @Override
    public void whenGone(Runnable task) {
        request.addFailureListener(failure -> task.run());
        if (request.getConnectionMetaData().getHttpVersion().getVersion() < 20
                && request.getConnectionMetaData().getConnection().getEndPoint() instanceof ProxyServerConnector.ClientEndPoint socket) {
            socket.whenClosedUnread(task);
        }
    }

    @Override
    public Object loop() {
        return ProxyServerConnector.loopOf(request.getConnectionMetaData().getConnection().getEndPoint());
    }

    @Override
    public boolean isCommitted() {
        return response.isCommitted();
    }

    @Override
    public void reset() {
        response.reset();
    }

    @Override
    public void status(int status) {
        response.setStatus(status);
    }

    @Override
    public HttpFields.Mutable responseHeaders() {
        return response.getHeaders();
    }

    /** Jetty takes the supplier with the head, and asks it at the body's end. */
    @Override
    public void trailers(Supplier<HttpFields> supplier) {
        response.setTrailersSupplier(supplier);
    }

    @Override
    public void write(boolean last, ByteBuffer content, Callback callback) {
        response.write(last, content, callback);
    }

    /**
     * A cut is Jetty's abort ({@link Request.Handler.AbortException}), which writes no error
     * response and logs nothing: any client can cause it at will.
     */
    @Override
    public void end(Throwable failure) {
        Content.Chunk unread = peeked.getAndSet(null);
        if (unread != null) { // the exchange ended before its body was read
            unread.release();
        }
        if (failure == null) {
            callback.succeeded();
        } else {
            callback.failed(failure instanceof Request.Handler.AbortException ? failure : new Request.Handler.AbortException(failure));
        }
    }
}
