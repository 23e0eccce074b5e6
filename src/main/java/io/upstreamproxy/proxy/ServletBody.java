package io.upstreamproxy.proxy;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.Trailers;
import org.eclipse.jetty.io.Content;

/**
 * The servlet request's body as a Jetty {@link Content.Source}, read without blocking: a read
 * gives what the container has ({@code isReady}), and a demand runs when it has more
 * ({@code onDataAvailable}). The body's last chunk carries the client's trailer fields when it
 * sent any. One chunk is out at a time (the pipeline releases it before reading on), each a copy
 * of what one container read gave.
 *
 * <p>A wake-up can come between a read that found nothing and the demand that follows it; it is
 * kept ({@code ready}) and runs the demand at once, so none is lost.
 */
final class ServletBody implements Content.Source, ReadListener {
    private static final int CHUNK = 16 << 10;
    private final HttpServletRequest request;
    private ServletInputStream in;
    private final byte[] buffer = new byte[CHUNK];
    private Runnable demand;    // guarded by this
    private boolean ready;      // woken with no demand waiting; guarded by this
    private Throwable failure;  // guarded by this
    private boolean ended;      // the last chunk was given; guarded by this

    ServletBody(HttpServletRequest request) {
        this.request = request;
    }

    @Override
    public Content.Chunk read() {
        synchronized (this) {
            if (failure != null) {
                return Content.Chunk.from(failure, true);
            }
            if (ended) {
                return Content.Chunk.EOF;
            }
        }
        try {
            ServletInputStream s = input();
            // Finished first: Tomcat's isReady() is false once the body is all read, and would
            // register for a read that never comes.
            boolean finished = s.isFinished();
            if (!finished && !s.isReady()) {
                return null; // the container calls onDataAvailable when there is more
            }
            int n = finished ? -1 : s.read(buffer);
            if (n < 0) {
                synchronized (this) {
                    ended = true;
                }
                return last();
            }
            return n == 0 ? null : Content.Chunk.from(ByteBuffer.wrap(Arrays.copyOf(buffer, n)), false);
        } catch (IOException | RuntimeException e) {
            synchronized (this) {
                failure = e;
            }
            return Content.Chunk.from(e, true);
        }
    }

    /** The end of the body, with the client's trailer fields if it sent any. */
    private Content.Chunk last() {
        if (request.isTrailerFieldsReady()) {
            Map<String, String> fields = request.getTrailerFields();
            if (!fields.isEmpty()) {
                HttpFields.Mutable t = HttpFields.build();
                fields.forEach(t::add);
                return new Trailers(t);
            }
        }
        return Content.Chunk.EOF;
    }

    /** The input, in non-blocking mode from the first read on (the listener can be set once only). */
    private ServletInputStream input() throws IOException {
        if (in == null) {
            in = request.getInputStream();
            in.setReadListener(this);
        }
        return in;
    }

    @Override
    public void demand(Runnable demandCallback) {
        boolean now;
        synchronized (this) {
            now = ready || failure != null || ended;
            ready = false;
            if (!now) {
                demand = demandCallback;
            }
        }
        if (now) {
            demandCallback.run();
        }
    }

    @Override
    public void fail(Throwable t) {
        synchronized (this) {
            if (failure == null) {
                failure = t;
            }
        }
    }

    @Override
    public void onDataAvailable() {
        wake();
    }

    @Override
    public void onAllDataRead() {
        wake();
    }

    @Override
    public void onError(Throwable t) {
        synchronized (this) {
            if (failure == null) {
                failure = t;
            }
        }
        wake();
    }

    private void wake() {
        Runnable d;
        synchronized (this) {
            d = demand;
            demand = null;
            if (d == null) {
                ready = true;
            }
        }
        if (d != null) {
            d.run();
        }
    }
}
