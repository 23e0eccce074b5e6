package io.upstreamproxy.proxy;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * The server's side of a WebSocket: a connection of its own, never pooled, opened by
 * {@link OriginClient} like any other (resolved, PROXY header, TLS). It sends the upgrade
 * request, reads the answer's head with Jetty's {@link HttpParser}, and after a {@code 101}
 * relays bytes to the client's side ({@link Peer}) and back without a thread of its own: each
 * side reads the next bytes only once the other side has written the last ones, so a slow
 * reader slows its sender and nothing piles up in memory.
 *
 * <p>Until the head arrives the end point's idle timeout is the proxy's read timeout; after the
 * {@code 101} it is {@code websocket_idle_timeout}, and since writes count as activity too,
 * traffic in either direction keeps the WebSocket open. When either side ends, both close and
 * {@code ended} runs once.
 */
final class OriginTunnel extends AbstractConnection.NonBlocking implements HttpParser.ResponseHandler {
    private static final int BUFFER = 16 << 10;
    private static final int MAX_REFUSAL_BODY = 1 << 20;

    /** How the handshake ended: exactly one of these runs, once. */
    interface Handshake {
        /** The server answered 101 with {@code headers}: call {@link #relay} (or {@link #close}). */
        void opened(OriginTunnel tunnel, List<HttpField> headers);

        /** The server answered {@code status}: the connection is closed already. */
        void refused(int status, List<HttpField> headers, byte[] body);

        /** No whole answer: the connection is closed already. */
        void failed(Throwable cause);
    }

    /** The client's side of an open WebSocket. */
    /** Where a relay reads: an endpoint's {@code fill}. */
    @FunctionalInterface
    interface Source {
        /** Reads what is there into {@code buffer}: the bytes read, 0 for none yet, -1 at the end. */
        int fill(ByteBuffer buffer) throws IOException;
    }

    interface Peer {
        /** Writes the server's {@code bytes} to the client; {@code done} once they are written (the buffer is reused then). */
        void write(ByteBuffer bytes, Callback done);

        /** Closes the client's side (the server's side ended). Called once. */
        void close();
    }

    private final ByteBuffer request;
    private final long readTimeoutMillis;
    private final HttpParser parser;
    private final AtomicBoolean reported = new AtomicBoolean();
    private Handshake handshake;
    private ByteBuffer buffer = BufferUtil.allocate(BUFFER);
    private final List<HttpField> headers = new ArrayList<>();
    private int status;
    private byte[] refusal;
    private int refusalLength;
    private boolean refusalTooLarge;
    private volatile Peer peer; // set by relay(): from then on bytes flow; guarded by this when set
    private Runnable ended;     // runs once when the tunnel ends after its 101; guarded by this
    private boolean over;       // guarded by this
    private boolean goingAway;       // guarded by this: a graceful stop began
    private boolean toClientWriting; // guarded by this
    private boolean toServerWriting; // guarded by this
    private final FrameBoundary toClientFrames = new FrameBoundary(); // touched by the server-to-client step only
    private final FrameBoundary toServerFrames = new FrameBoundary(); // touched by the client-to-server step only
    private final AtomicInteger sidesToTell = new AtomicInteger(2);

    OriginTunnel(EndPoint endPoint, Executor executor, ByteBuffer request, long readTimeoutMillis, int maxHead, Handshake handshake) {
        super(endPoint, executor);
        this.request = request;
        this.readTimeoutMillis = readTimeoutMillis;
        this.parser = new HttpParser(this, maxHead);
        this.handshake = handshake;
    }

    @Override
    public void onOpen() {
        super.onOpen();
        getEndPoint().setIdleTimeout(readTimeoutMillis);
        getEndPoint().write(Callback.from(Invocable.InvocationType.NON_BLOCKING, () -> { }, this::fail), request);
        fillInterested();
    }

    @Override
    public void onFillable() {
        if (peer != null) {
            relayToClient();
            return;
        }
        try {
            while (true) {
                if (BufferUtil.space(buffer) == 0) {
                    BufferUtil.compact(buffer);
                    if (BufferUtil.space(buffer) == 0) {
                        ByteBuffer bigger = BufferUtil.allocate(buffer.capacity() * 2);
                        BufferUtil.append(bigger, buffer);
                        buffer = bigger; // a head longer than 16 KiB; the parser bounds it
                    }
                }
                int n = getEndPoint().fill(buffer);
                boolean stop = parser.parseNext(buffer);
                if (stop) {
                    finishHandshake();
                    return;
                }
                if (n < 0) {
                    parser.atEOF();
                    if (parser.parseNext(buffer)) {
                        finishHandshake();
                    } else {
                        fail(new EOFException("the server closed the connection before its answer to the upgrade was complete"));
                    }
                    return;
                }
                if (n == 0) {
                    fillInterested();
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
    }

    private void finishHandshake() {
        if (!reported.compareAndSet(false, true)) {
            return;
        }
        Handshake h = handshake;
        handshake = null;
        if (status == 101) {
            h.opened(this, headers); // the bytes left in the buffer are the server's first frames
        } else if (refusalTooLarge) {
            getEndPoint().close();
            h.failed(new IOException("the server's refusal of the upgrade was larger than " + MAX_REFUSAL_BODY + " bytes"));
        } else {
            getEndPoint().close();
            byte[] body = refusal == null ? new byte[0] : Arrays.copyOf(refusal, refusalLength);
            h.refused(status, headers, body);
        }
    }

    /** The handshake failed, or the relay ended with an error: closes everything, reports once. */
    private void fail(Throwable cause) {
        if (reported.compareAndSet(false, true)) {
            Handshake h = handshake;
            handshake = null;
            getEndPoint().close(cause);
            h.failed(cause);
        } else {
            close();
        }
    }

    /** What runs once when the tunnel ends after its 101 (the server's lease); at once if it ended already. */
    void whenEnded(Runnable onEnd) {
        boolean now;
        synchronized (this) {
            ended = onEnd;
            now = over;
        }
        if (now) {
            onEnd.run();
        }
    }

    /**
     * After a 101: relays between the server and {@code client}, starting with the server's
     * first frames if they came with the head, until either side closes.
     */
    void relay(Peer client, long idleTimeoutMillis) {
        boolean closedAlready;
        synchronized (this) {
            peer = client;
            closedAlready = over;
        }
        if (closedAlready) {
            client.close(); // the server went away meanwhile
            return;
        }
        getEndPoint().setIdleTimeout(idleTimeoutMillis);
        if (buffer.hasRemaining()) {
            toClient(buffer);
        } else {
            fillInterested();
        }
    }

    private void relayToClient() {
        synchronized (this) {
            if (goingAway) {
                return; // no more from the server: the close frame goes next
            }
        }
        relayOnce(getEndPoint()::fill, buffer, (bytes, ignored) -> toClient(bytes), this::fillInterested, this::close);
    }

    /** Server to client: the bytes are followed for frame boundaries, then written; then the next read, or the going-away frame. */
    private void toClient(ByteBuffer bytes) {
        synchronized (this) {
            if (goingAway) {
                return; // read as the stop began: dropped, the close frame goes instead
            }
            toClientWriting = true;
        }
        toClientFrames.pass(bytes);
        peer.write(bytes, Callback.from(Invocable.InvocationType.NON_BLOCKING, () -> {
            boolean away;
            synchronized (this) {
                toClientWriting = false;
                away = goingAway;
            }
            if (away) {
                sayGoingAway(false);
            } else {
                fillInterested();
            }
        }, e -> close()));
    }

    /**
     * One step of a relay, the same on both sides: reads what {@code from} has into
     * {@code buffer} and hands it to {@code to}; once written, {@code fillInterested} asks for
     * the next bytes. The end of input or a failure on either side runs {@code close}.
     */
    static void relayOnce(Source from, ByteBuffer buffer, BiConsumer<ByteBuffer, Callback> to, Runnable fillInterested, Runnable close) {
        try {
            BufferUtil.clear(buffer);
            int n = from.fill(buffer);
            if (n < 0) {
                close.run();
            } else if (n == 0) {
                fillInterested.run();
            } else {
                to.accept(buffer, Callback.from(Invocable.InvocationType.NON_BLOCKING, fillInterested, failure -> close.run()));
            }
        } catch (IOException | RuntimeException e) {
            close.run();
        }
    }

    /**
     * Client to server: writes the client's {@code bytes}; {@code done} once written, so the
     * client's side reads on. Once going away, the last write's {@code done} never runs (the
     * client's side reads no more) and the going-away frame follows it.
     */
    void write(ByteBuffer bytes, Callback done) {
        synchronized (this) {
            if (goingAway) {
                return; // read after the stop began: dropped, the close frame is on its way
            }
            toServerWriting = true;
        }
        toServerFrames.pass(bytes);
        getEndPoint().write(Callback.from(Invocable.InvocationType.NON_BLOCKING, () -> {
            boolean away;
            synchronized (this) {
                toServerWriting = false;
                away = goingAway;
            }
            if (away) {
                sayGoingAway(true);
            } else {
                done.succeeded();
            }
        }, done::failed), bytes);
    }

    /**
     * A graceful stop: no more bytes are read from either side; each side gets a close frame
     * with status 1001 (going away) once its last write is done, if that write ended a frame
     * (else it is only closed); then both close.
     */
    void goAway() {
        boolean toClientNow;
        boolean toServerNow;
        synchronized (this) {
            if (goingAway || peer == null) {
                return;
            }
            goingAway = true;
            toClientNow = !toClientWriting;
            toServerNow = !toServerWriting;
        }
        if (toClientNow) {
            sayGoingAway(false);
        }
        if (toServerNow) {
            sayGoingAway(true);
        }
    }

    private void sayGoingAway(boolean toServer) {
        FrameBoundary frames = toServer ? toServerFrames : toClientFrames;
        if (!frames.atBoundary()) {
            goneAway();
            return;
        }
        Callback done = Callback.from(Invocable.InvocationType.NON_BLOCKING, this::goneAway, e -> goneAway());
        if (toServer) {
            getEndPoint().write(done, FrameBoundary.goingAway(true));
        } else {
            peer.write(FrameBoundary.goingAway(false), done);
        }
    }

    /** One side was told (or could not be): once both were, both close. */
    private void goneAway() {
        if (sidesToTell.decrementAndGet() == 0) {
            close();
        }
    }

    /** Closes both sides (once) and runs the end hook. */
    @Override
    public void close() {
        getEndPoint().close();
        end();
    }

    @Override
    public void onClose(Throwable cause) {
        super.onClose(cause);
        if (!reported.get()) {
            fail(cause == null ? new EOFException("the connection to the server closed") : cause);
            return;
        }
        end();
    }

    /** The server's side closed after the handshake: the client's side closes, the end hook runs; once. */
    private void end() {
        Peer p;
        Runnable r;
        synchronized (this) {
            if (over) {
                return;
            }
            over = true;
            p = peer;
            r = ended;
        }
        if (p != null) {
            p.close();
        }
        if (r != null) {
            r.run();
        }
    }

    @Override
    protected boolean onReadTimeout(TimeoutException timeout) {
        if (!reported.get()) {
            fail(new SocketTimeoutException("no answer to the upgrade within " + readTimeoutMillis + " ms"));
            return false;
        }
        return true; // no traffic either way for websocket_idle_timeout: close both sides
    }

    // HttpParser.ResponseHandler: the answer to the upgrade request.

    @Override
    public void startResponse(HttpVersion version, int code, String reason) {
        status = code;
    }

    @Override
    public void parsedHeader(HttpField field) {
        headers.add(field);
    }

    @Override
    public boolean headerComplete() {
        return status == 101; // then what follows is the server's first frames
    }

    @Override
    public boolean content(ByteBuffer chunk) {
        int n = chunk.remaining();
        if (refusalLength + n > MAX_REFUSAL_BODY) {
            refusalTooLarge = true;
            chunk.position(chunk.limit());
            return true;
        }
        if (refusal == null || refusal.length < refusalLength + n) {
            refusal = Arrays.copyOf(refusal == null ? new byte[0] : refusal, Math.max(refusalLength + n, 2 * refusalLength + 1024));
        }
        chunk.get(refusal, refusalLength, n);
        refusalLength += n;
        return false;
    }

    @Override
    public boolean contentComplete() {
        return false;
    }

    @Override
    public boolean messageComplete() {
        if (status >= 100 && status < 200) {
            headers.clear(); // an interim answer (100, 103): the real one follows
            parser.reset();
            return false;
        }
        return true;
    }

    @Override
    public void earlyEOF() {
        // onFillable reports the failure
    }

    @Override
    public void badMessage(HttpException failure) {
        throw new IllegalStateException("the server's answer to the upgrade is malformed: " + failure.getReason());
    }
}
