package io.upstreamproxy.proxy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A request body of known length, gathered as it arrives: the array starts at 4 KiB and
 * doubles up to the length, each growth paid for from the shared {@link BodyBudget}.
 */
final class BodyBuffer {
    private static final int FIRST = 4096;

    private final BodyBudget budget;
    private final int length;
    private byte[] body;
    private int size;
    private int reserved; // bytes of the budget this body holds

    BodyBuffer(BodyBudget budget, int length) {
        this.budget = budget;
        this.length = length;
    }

    /** Adds what {@code bytes} holds; more than the declared length is the client's error. */
    void append(ByteBuffer bytes) throws IOException {
        int n = bytes.remaining();
        if (n == 0) {
            return;
        }
        if (size + n > length) {
            throw new IOException("request body longer than its Content-Length");
        }
        if (body == null) {
            body = new byte[grow(Math.max(n, Math.min(length, FIRST)))];
        } else if (size + n > body.length) {
            body = Arrays.copyOf(body, grow((int) Math.min(length, Math.max(size + n, 2L * body.length))));
        }
        bytes.get(body, size, n);
        size += n;
    }

    /** Takes the budget for a buffer of {@code capacity} bytes, or refuses the body. */
    private int grow(int capacity) throws BodyBudget.Exhausted {
        if (!budget.reserve(capacity - reserved)) {
            throw new BodyBudget.Exhausted();
        }
        reserved = capacity;
        return capacity;
    }

    /** The whole body, once the client's stream ended; an error when it ended early. */
    byte[] whole() throws IOException {
        if (size != length) {
            throw new IOException("request body ended after " + size + " of " + length + " bytes");
        }
        return body == null ? new byte[0] : body;
    }

    /**
     * Hands the budget back: once the body is whole it is on its way to a server, and the
     * number of those is bounded by the upstream connection pools instead.
     */
    void release() {
        budget.release(reserved);
        reserved = 0;
    }
}
