package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Buffered request bodies grow as bytes arrive, within one budget shared by all of them. */
class BufferedBodyTest {

    /** The servlet edge: a body arriving in pieces, {@code ready} bytes at a time. */
    private static final class Arriving extends ServletInputStream {
        private final byte[] bytes;
        private int pos;
        private int ready;

        Arriving(byte[] bytes) {
            this.bytes = bytes;
        }

        void arrive(int n) {
            ready = Math.min(bytes.length, ready + n);
        }

        @Override
        public boolean isReady() {
            return pos < ready || ready == bytes.length;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos == bytes.length) {
                return -1;
            }
            int n = Math.min(len, ready - pos);
            System.arraycopy(bytes, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public int read() {
            return pos < ready ? bytes[pos++] : -1;
        }

        @Override
        public boolean isFinished() {
            return pos == bytes.length;
        }

        @Override
        public void setReadListener(ReadListener listener) {
        }
    }

    private static byte[] body(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 'x');
        return b;
    }

    @Test
    void deliversTheWholeBodyAndGivesTheBudgetBack() throws Exception {
        BodyBudget budget = new BodyBudget(64 << 10);
        byte[] sent = body(10_000);
        Arriving in = new Arriving(sent);
        AtomicReference<byte[]> whole = new AtomicReference<>();
        BufferedBody reader = new BufferedBody(in, budget, sent.length, whole::set, t -> { throw new AssertionError(t); });
        in.arrive(3000);
        reader.onDataAvailable();
        assertEquals(4096, budget.used(), "the first buffer, 4 KiB, for the first 3000 bytes");
        in.arrive(7000);
        reader.onDataAvailable();
        reader.onAllDataRead();
        assertArrayEquals(sent, whole.get());
        assertEquals(0, budget.used());
    }

    @Test
    void refusesABodyOnceTheBudgetIsSpentAndFreesWhatItHeld() throws Exception {
        BodyBudget budget = new BodyBudget(12 << 10);
        Arriving first = new Arriving(body(20_000));
        Arriving second = new Arriving(body(20_000));
        AtomicReference<Throwable> failed = new AtomicReference<>();
        BufferedBody a = new BufferedBody(first, budget, 20_000, b -> { }, failed::set);
        BufferedBody b = new BufferedBody(second, budget, 20_000, x -> { }, failed::set);
        first.arrive(8192);
        a.onDataAvailable();   // 8 KiB held
        second.arrive(4096);
        b.onDataAvailable();   // 4 KiB held: 12 KiB, all of it
        first.arrive(1);
        BodyBudget.Exhausted e = assertThrows(BodyBudget.Exhausted.class, a::onDataAvailable, "16 KiB would not fit");
        a.onError(e);          // what the container does with it
        assertInstanceOf(BodyBudget.Exhausted.class, failed.get());
        assertEquals(4096, budget.used(), "the refused body gave back its 8 KiB; the other keeps its 4 KiB");
        Fault f = Fault.ofClient(e);
        assertEquals(503, f.status());
        assertFalse(f.countsAgainstServer());
        assertFalse(f.retryable(true, true));
    }
}
