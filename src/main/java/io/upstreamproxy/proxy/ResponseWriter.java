package io.upstreamproxy.proxy;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.util.Callback;

/**
 * Writes the response body to a servlet client without blocking, on the thread that received
 * it from the upstream ({@link ServletClient}'s writes).
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
 * <p>One chunk at a time: the upstream connection reads the next chunk only when the callback
 * of the previous one completed, so the fields describe at most one pending write. The monitor
 * serializes the upstream's thread with the container's callbacks; the callback is completed
 * outside it because that may deliver the next chunk at once, on the same thread.
 */
final class ResponseWriter implements WriteListener {
    private final ServletOutputStream out;
    private byte[] buffer;
    private int offset;
    private int length;
    private Callback callback;  // non-null while a chunk is pending
    private boolean written;    // the pending chunk was handed to the output
    private Throwable failure;  // the client went away; later chunks fail at once

    ResponseWriter(ServletOutputStream out) {
        this.out = out;
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
     * Writes one chunk of the response; {@code callback} completes when it was written, and
     * fails when the client went away (or stopped reading). The bytes stay the caller's until then.
     */
    void write(ByteBuffer content, Callback callback) {
        byte[] bytes;
        int offset;
        int length = content.remaining();
        if (content.hasArray()) {
            bytes = content.array();
            offset = content.arrayOffset() + content.position();
        } else {
            bytes = new byte[length];
            content.duplicate().get(bytes);
            offset = 0;
        }
        write(bytes, offset, length, callback);
    }

    private void write(byte[] buffer, int offset, int length, Callback callback) {
        Throwable failed;
        synchronized (this) {
            failed = failure;
            if (failed == null) {
                this.buffer = buffer;
                this.offset = offset;
                this.length = length;
                this.callback = callback;
                this.written = false;
            }
        }
        if (failed != null) {
            callback.failed(failed);
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
            done.failed(error);
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
            pending.failed(t); // the pipeline stops reading a response nobody will get
        }
    }

    private void clear() {
        buffer = null;
        callback = null;
        written = false;
    }
}
