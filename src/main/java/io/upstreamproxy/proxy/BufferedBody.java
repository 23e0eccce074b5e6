package io.upstreamproxy.proxy;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * Reads a small request body of known length (up to {@code proxy.buffer_body}) whole before any
 * server is asked, so the request can be sent again on a retry. Non-blocking: the container
 * calls {@link #onDataAvailable} as bytes arrive, so a client sending slowly holds memory (what
 * it has sent so far, grown as it arrives, within the shared {@link BodyBudget}) but no thread.
 */
final class BufferedBody implements ReadListener {
    private final ServletInputStream in;
    private final BodyBuffer buffer;
    private final Consumer<byte[]> whole;
    private final Consumer<Throwable> failed;

    /** {@code whole} gets the body once all of it arrived; {@code failed} the client's failure. */
    BufferedBody(ServletInputStream in, BodyBudget budget, int length, Consumer<byte[]> whole, Consumer<Throwable> failed) {
        this.in = in;
        this.buffer = new BodyBuffer(budget, length);
        this.whole = whole;
        this.failed = failed;
    }

    @Override
    public void onDataAvailable() throws IOException {
        while (in.isReady()) {
            if (buffer.readFrom(in::read) < 0) {
                return; // onAllDataRead follows
            }
        }
    }

    @Override
    public void onAllDataRead() {
        // Once the body is whole it is on its way to a server, and the number of those is
        // bounded by the upstream connection pools instead: the budget goes back.
        buffer.release();
        byte[] body;
        try {
            body = buffer.whole();
        } catch (IOException e) {
            failed.accept(e);
            return;
        }
        whole.accept(body);
    }

    @Override
    public void onError(Throwable t) {
        buffer.release();
        failed.accept(t);
    }
}
