package io.upstreamproxy.proxy;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http.Trailers;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.IteratingCallback;
import org.eclipse.jetty.util.Promise;

/**
 * One request to an HTTP/2 server, on a stream of a shared connection ({@link StreamPool}),
 * told to the exchange through the same {@link OriginConnection.Listener} an HTTP/1.1
 * connection uses: head, content, trailers, failure, exactly one of the last two.
 *
 * <p>Flow control end to end: the server's next DATA is demanded only once the listener took
 * the last (its client wrote them), and Jetty gives the stream's window back only as frames are
 * released, so a slow client slows its stream and not the connection. The other way, the
 * client's next chunk is read only once the last one's frame went out within the server's
 * window.
 *
 * <p>A failure while the listener holds content waits until it gives the content back, so the
 * listener never writes twice at once to its client.
 */
final class OriginStream implements StreamPool.Waiter, Stream.Listener {
    /** How close to the gRPC deadline a server's cancel counts as that deadline (timers on two hosts never fire together). */
    private static final long NEAR_DEADLINE_NANOS = 50_000_000L;
    private final String scheme;
    private final String method;
    private final String target;
    private final String authority;
    private final HttpFields fields;
    private final long length;
    private final ByteBuffer body;
    private final Content.Source source;
    private final long idleMillis;
    private final OriginConnection.Listener listener;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile StreamPool.Conn conn;
    private volatile Stream stream;
    private volatile Runnable onEnd = () -> { };
    private volatile long deadlineNanos; // System.nanoTime() of the gRPC deadline; 0: none
    private boolean held;       // guarded by this: the listener holds a head or content
    private Throwable deferred; // guarded by this: a failure that came while held

    OriginStream(String scheme, String method, String target, String authority, HttpFields fields, long length, ByteBuffer body,
                 Content.Source source, long idleMillis, OriginConnection.Listener listener) {
        this.scheme = scheme;
        this.method = method;
        this.target = target;
        this.authority = authority;
        this.fields = fields;
        this.length = length;
        this.body = body;
        this.source = source;
        this.idleMillis = idleMillis;
        this.listener = listener;
    }

    /** The gRPC deadline, {@code millis} from now: a server's cancel near it is that deadline. */
    void deadlineIn(long millis) {
        deadlineNanos = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
    }

    /** Run once when the exchange with the server ends (a deadline's timer is cancelled). */
    void onEnd(Runnable r) {
        onEnd = r;
    }

    @Override
    public void onNoSession(Throwable failure) {
        fail(failure);
    }

    /** Every connection is full: the exchange may take the request out of the wait; it then ends here too, unheard. */
    @Override
    public void queued(BooleanSupplier leave) {
        listener.waiting(() -> {
            if (!leave.getAsBoolean() || !ended.compareAndSet(false, true)) {
                return false;
            }
            onEnd.run(); // its gRPC deadline's timer
            return true;
        });
    }

    @Override
    public void onSession(StreamPool.Conn c) {
        conn = c;
        listener.placed();
        boolean noBody = (body == null || !body.hasRemaining()) && source == null;
        HttpURI uri = HttpURI.build().scheme(scheme).authority(authority).pathQuery(target);
        MetaData.Request request = new MetaData.Request(method, uri, HttpVersion.HTTP_2, fields, length);
        c.session().newStream(new HeadersFrame(request, null, noBody), Promise.from(this::opened,
                // the request never left: as a connect failure, nobody's but the connection's, and safe to send again
                failure -> fail(new NotSent("no stream on the server's connection: " + Fault.describe(failure), failure))), this);
    }

    private void opened(Stream s) {
        stream = s;
        s.setIdleTimeout(idleMillis);
        if (body != null && body.hasRemaining()) {
            s.data(new DataFrame(s.getId(), body, true), Callback.from(() -> { }, this::failAndReset));
        } else if (source != null) {
            new Upload(s).iterate();
        }
    }

    /** The gRPC deadline passed: the server's stream is cancelled and the exchange times out. */
    void deadline() {
        failAndReset(new TimeoutException("deadline (grpc-timeout) passed"));
    }

    @Override
    public void onHeaders(Stream s, HeadersFrame frame) {
        MetaData md = frame.getMetaData();
        if (md instanceof MetaData.Response r) {
            if (r.getStatus() < 200) { // an interim answer: the final one follows
                s.demand();
                return;
            }
            if (frame.isEndStream()) {
                // A head that ends the stream (gRPC's Trailers-Only error, a 204) goes to the client as
                // one too: with a zero length, the exchange sends it with its end, not as a head and an
                // empty end, which a gRPC client reads as a response missing its trailers (INTERNAL).
                HttpFields fields = r.getHttpFields();
                if (!fields.contains(HttpHeader.CONTENT_LENGTH)) {
                    fields = HttpFields.build(fields).put(HttpHeader.CONTENT_LENGTH, "0");
                }
                hold();
                listener.onHeaders(r.getStatus(), fields, Callback.from(() -> {
                    if (taken()) {
                        complete(null);
                    }
                }, this::failAndReset));
                return;
            }
            hold();
            listener.onHeaders(r.getStatus(), r.getHttpFields(), Callback.from(() -> {
                if (taken()) {
                    s.demand();
                }
            }, this::failAndReset));
            return;
        }
        complete(md.getHttpFields()); // the trailers, which end the stream
    }

    @Override
    public void onDataAvailable(Stream s) {
        Stream.Data data = s.readData();
        if (data == null) {
            s.demand();
            return;
        }
        DataFrame frame = data.frame();
        boolean end = frame.isEndStream();
        ByteBuffer bytes = frame.getByteBuffer();
        if (!bytes.hasRemaining()) {
            data.release();
            if (end) {
                complete(null);
            } else {
                s.demand();
            }
            return;
        }
        hold();
        listener.onContent(bytes, false, Callback.from(() -> {
            data.release();
            if (!taken()) {
                return;
            }
            if (end) {
                complete(null);
            } else {
                s.demand();
            }
        }, t -> {
            data.release();
            failAndReset(t);
        }));
    }

    @Override
    public void onReset(Stream s, ResetFrame frame, Callback callback) {
        callback.succeeded();
        String why = "the server reset the stream: " + ErrorCode.toString(frame.getError(), "code " + frame.getError());
        long deadline = deadlineNanos;
        if (deadline != 0 && frame.getError() == ErrorCode.CANCEL_STREAM_ERROR.code && System.nanoTime() - deadline > -NEAR_DEADLINE_NANOS) {
            // The server got grpc-timeout too and ends the call at the same moment, sometimes first:
            // its cancel is the deadline, told to the client as DEADLINE_EXCEEDED either way.
            fail(new TimeoutException("deadline (grpc-timeout) passed at the server"));
            return;
        }
        fail(frame.getError() == ErrorCode.REFUSED_STREAM_ERROR.code ? new NotSent(why, null) : new IOException(why));
    }

    @Override
    public void onIdleTimeout(Stream s, TimeoutException x, Promise<Boolean> promise) {
        promise.succeeded(true); // Jetty resets the stream
        fail(x);
    }

    @Override
    public void onFailure(Stream s, int error, String reason, Throwable failure, Callback callback) {
        callback.succeeded();
        fail(failure != null ? failure : new IOException("stream failed: " + reason));
    }

    @Override
    public void onClosed(Stream s) {
        release();
    }

    /**
     * The listener has a head or content: until it gives it back, the server's silence is the
     * client's doing, so the stream's idle timeout ({@code read_timeout}) pauses, as an HTTP/1.1
     * connection's does. Setting it again on {@link #taken} restarts its clock (Jetty's
     * {@code setIdleTimeout} marks the stream active).
     */
    private void hold() {
        synchronized (this) {
            held = true;
        }
        Stream s = stream;
        if (s != null && idleMillis > 0) {
            s.setIdleTimeout(0);
        }
    }

    /** The listener gave the head or content back: true to go on, false when a failure waited and was told now. */
    private boolean taken() {
        Throwable failure;
        synchronized (this) {
            held = false;
            failure = deferred;
        }
        Stream s = stream;
        if (s != null && idleMillis > 0) {
            s.setIdleTimeout(idleMillis);
        }
        if (failure != null) {
            end(failure);
            return false;
        }
        return true;
    }

    private void complete(HttpFields trailers) {
        if (ended.compareAndSet(false, true)) {
            onEnd.run();
            listener.onComplete(trailers);
        }
    }

    private void failAndReset(Throwable failure) {
        Stream s = stream;
        if (s != null && !s.isClosed()) {
            s.reset(new ResetFrame(s.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
        }
        fail(failure);
    }

    private void fail(Throwable failure) {
        synchronized (this) {
            if (held) {
                if (deferred == null) {
                    deferred = failure;
                }
                return;
            }
        }
        end(failure);
    }

    private void end(Throwable failure) {
        if (ended.compareAndSet(false, true)) {
            onEnd.run();
            if (stream == null) {
                release(); // no stream was opened: its place on the connection is free now
            }
            listener.onFailure(failure);
        }
    }

    private void release() {
        StreamPool.Conn c = conn;
        if (c != null && released.compareAndSet(false, true)) {
            c.release();
        }
    }

    /** The request never reached the server (no stream opened, or the server refused it unprocessed): it may go again. */
    static final class NotSent extends ConnectException {
        NotSent(String message, Throwable cause) {
            super(message);
            initCause(cause);
        }
    }

    /** The client's body, chunk by chunk, each read once the last one's frame went out. */
    private final class Upload extends IteratingCallback {
        private final Stream s;
        private Content.Chunk chunk;
        private boolean done;

        Upload(Stream s) {
            this.s = s;
        }

        @Override
        protected Action process() {
            if (chunk != null) {
                chunk.release();
                chunk = null;
            }
            if (done) {
                return Action.SUCCEEDED;
            }
            Content.Chunk c = source.read();
            if (c == null) {
                source.demand(this::iterate);
                return Action.IDLE;
            }
            if (Content.Chunk.isFailure(c)) {
                failAndReset(c.getFailure());
                return Action.SUCCEEDED;
            }
            chunk = c;
            done = c.isLast();
            if (c instanceof Trailers t) {
                s.headers(new HeadersFrame(s.getId(), new MetaData(HttpVersion.HTTP_2, t.getTrailers()), null, true), this);
            } else {
                s.data(new DataFrame(s.getId(), c.getByteBuffer(), done), this);
            }
            return Action.SCHEDULED;
        }

        @Override
        protected void onCompleteFailure(Throwable cause) {
            if (chunk != null) {
                chunk.release();
                chunk = null;
            }
            failAndReset(cause);
        }

        @Override
        public InvocationType getInvocationType() {
            return InvocationType.NON_BLOCKING;
        }
    }

    /** Headers an HTTP/2 request may not carry (RFC 9113, 8.2.2), and Host, which becomes :authority. */
    static void toHttp2(HttpFields.Mutable f) {
        f.remove(HttpHeader.CONNECTION);
        f.remove(HttpHeader.KEEP_ALIVE);
        f.remove(HttpHeader.PROXY_CONNECTION);
        f.remove(HttpHeader.TRANSFER_ENCODING);
        f.remove(HttpHeader.UPGRADE);
        f.remove(HttpHeader.HOST);
    }
}
