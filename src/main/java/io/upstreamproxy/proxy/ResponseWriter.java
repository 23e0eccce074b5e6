package io.upstreamproxy.proxy;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import java.io.IOException;
import java.util.function.Consumer;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Writes the upstream's response body to the client without blocking, on the thread that
 * received it from the upstream.
 *
 * <p>Why not Jetty's {@code AsyncProxyServlet.StreamWriter}: it installs itself as the write
 * listener when the first chunk arrives, and the container then runs the first
 * {@code onWritePossible} on another pool thread: one thread hand-off per response, the
 * largest single cost in our profile (a quarter of the CPU at 50 connections). Installed while
 * {@code service} still runs instead, the container's first call comes on that same thread
 * before it returns, and every chunk is written where it arrives whenever the output is ready.
 * Only a client slower than the upstream makes the container call back later.
 *
 * <p>Each chunk is flushed as soon as it is written (not held back until the output buffer
 * fills), so server-sent events and long polls reach the client when the server sends them.
 * The upstream's next chunk is asked for only when this one is written, so a slow reader stops
 * the upstream read: memory per response stays one chunk, however slow the client.
 *
 * <p>One chunk at a time: the HTTP client asks for the next chunk only when the callback of the
 * previous one completed, so the fields describe at most one pending write. The monitor
 * serializes the upstream's thread with the container's callbacks; the callback is completed
 * outside it because that may deliver the next chunk at once, on the same thread.
 */
final class ResponseWriter implements WriteListener {
    private final ServletOutputStream out;
    private final Consumer<Throwable> clientGone;
    private Response upstream;
    private byte[] buffer;
    private int offset;
    private int length;
    private Callback callback;  // non-null while a chunk is pending
    private boolean written;    // the pending chunk was handed to the output
    private Throwable failure;  // the client went away; later chunks fail at once

    /** {@code clientGone} hears of a failed write: the client went away (or stopped reading). */
    ResponseWriter(ServletOutputStream out, Consumer<Throwable> clientGone) {
        this.out = out;
        this.clientGone = clientGone;
    }

    /**
     * Sends the response head now, before any body: for responses without Content-Length
     * (chunked, server-sent events, long polls), whose first bytes may be long in coming.
     */
    void commit() {
        synchronized (this) {
            if (callback != null || failure != null) {
                return;
            }
            try {
                if (out.isReady()) {
                    out.flush();
                }
            } catch (IOException | RuntimeException e) {
                failure = e;
            }
        }
    }

    /**
     * Writes one chunk of the upstream's response ({@code upstream} null: a response of our
     * own); {@code callback} completes when it was written.
     */
    void write(Response upstream, byte[] buffer, int offset, int length, Callback callback) {
        Throwable failed;
        synchronized (this) {
            failed = failure;
            if (failed == null) {
                this.upstream = upstream;
                this.buffer = buffer;
                this.offset = offset;
                this.length = length;
                this.callback = callback;
                this.written = false;
            }
        }
        if (failed != null) {
            callback.failed(failed);
            if (upstream != null) {
                upstream.abort(failed);
            }
            return;
        }
        onWritePossible();
    }

    @Override
    public void onWritePossible() {
        Callback done;
        Throwable error = null;
        synchronized (this) {
            if (callback == null) {
                return; // the container's first call, before any content arrived
            }
            try {
                if (!written) {
                    if (!out.isReady()) {
                        return; // the container calls again once the client can take more
                    }
                    out.write(buffer, offset, length);
                    written = true;
                    if (out.isReady()) {
                        out.flush(); // on its way now; a no-op once the last byte closed the output
                    }
                }
                if (!out.isReady()) {
                    return; // still being written; the container calls again when it is done
                }
            } catch (IOException | RuntimeException e) {
                error = e;
                failure = e;
            }
            done = callback;
            clear();
        }
        if (error == null) {
            done.succeeded();
        } else {
            fail(done, error);
        }
    }

    @Override
    public void onError(Throwable t) {
        Callback pending;
        synchronized (this) {
            failure = t;
            pending = callback;
            clear();
        }
        if (pending != null) {
            fail(pending, t);
        } else {
            clientGone.accept(t);
        }
    }

    private void fail(Callback pending, Throwable t) {
        Response r;
        synchronized (this) {
            r = upstream;
        }
        clientGone.accept(t);
        pending.failed(t);
        if (r != null) {
            r.abort(t); // as AsyncProxyServlet: stop reading a response nobody will get
        }
    }

    private void clear() {
        buffer = null;
        callback = null;
        written = false;
    }
}
