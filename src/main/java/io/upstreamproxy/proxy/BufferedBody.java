package io.upstreamproxy.proxy;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Reads a small request body of known length (up to {@code proxy.buffer_body}) whole before any
 * server is asked, so the request can be sent again on a retry. Non-blocking: the container
 * calls {@link #onDataAvailable} as bytes arrive, so a client sending slowly holds memory (what
 * it has sent so far, grown as it arrives, within the shared {@link BodyBudget}) but no thread.
 */
final class BufferedBody implements ReadListener {
    private static final int FIRST = 4096;

    private final ServletInputStream in;
    private final BodyBudget budget;
    private final int length;
    private final Consumer<byte[]> whole;
    private final Consumer<Throwable> failed;
    private byte[] body;
    private int size;
    private int reserved; // bytes of the budget this body holds

    /** {@code whole} gets the body once all of it arrived; {@code failed} the client's failure. */
    BufferedBody(ServletInputStream in, BodyBudget budget, int length, Consumer<byte[]> whole, Consumer<Throwable> failed) {
        this.in = in;
        this.budget = budget;
        this.length = length;
        this.whole = whole;
        this.failed = failed;
    }

    @Override
    public void onDataAvailable() throws IOException {
        while (in.isReady()) {
            if (body == null) {
                body = new byte[grow(Math.min(length, FIRST))];
            } else if (size == body.length) {
                if (size == length) {
                    // More than Content-Length promised: the container stops at the length, so
                    // this is only the end of stream still to be seen.
                    if (in.read() >= 0) {
                        throw new IOException("request body longer than its Content-Length");
                    }
                    return;
                }
                body = Arrays.copyOf(body, grow((int) Math.min(length, 2L * body.length)));
            }
            int n = in.read(body, size, body.length - size);
            if (n < 0) {
                return; // onAllDataRead follows
            }
            size += n;
        }
    }

    /** Takes the budget for a buffer of {@code capacity} bytes, or refuses the body. */
    private int grow(int capacity) throws BodyBudget.Exhausted {
        if (!budget.reserve(capacity - reserved)) {
            throw new BodyBudget.Exhausted();
        }
        reserved = capacity;
        return capacity;
    }

    /**
     * Hands the budget back: once the body is whole it is on its way to a server, and the
     * number of those is bounded by the upstream connection pools instead.
     */
    private void release() {
        budget.release(reserved);
        reserved = 0;
    }

    @Override
    public void onAllDataRead() {
        release();
        if (size != length) {
            failed.accept(new IOException("request body ended after " + size + " of " + length + " bytes"));
            return;
        }
        whole.accept(body == null ? new byte[0] : body);
    }

    @Override
    public void onError(Throwable t) {
        release();
        body = null;
        failed.accept(t);
    }
}
