package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.upstreamproxy.config.OverloadConfig;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** A buffered request body ({@code proxy.buffer_body}) within the heap budget all such bodies share. */
class BodyBufferTest {

    private static ByteBuffer bytes(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 'x');
        return ByteBuffer.wrap(b);
    }

    @Test
    void deliversTheWholeBodyAndGivesTheBudgetBack() throws Exception {
        BodyBudget budget = new BodyBudget(64 << 10);
        BodyBuffer body = new BodyBuffer(budget, 10_000);
        body.append(bytes(3000));
        assertEquals(4096, budget.used(), "the first buffer, 4 KiB, for the first 3000 bytes");
        body.append(bytes(7000));
        byte[] expected = new byte[10_000];
        Arrays.fill(expected, (byte) 'x');
        assertArrayEquals(expected, body.whole());
        body.release();
        assertEquals(0, budget.used());
    }

    @Test
    void refusesABodyOnceTheBudgetIsSpentAndFreesWhatItHeld() throws Exception {
        BodyBudget budget = new BodyBudget(12 << 10);
        BodyBuffer a = new BodyBuffer(budget, 20_000);
        BodyBuffer b = new BodyBuffer(budget, 20_000);
        a.append(bytes(8192));   // 8 KiB held
        b.append(bytes(4096));   // 4 KiB held: 12 KiB, all of it
        BodyBudget.Exhausted e = assertThrows(BodyBudget.Exhausted.class, () -> a.append(bytes(1)), "16 KiB would not fit");
        a.release();
        assertEquals(4096, budget.used(), "the refused body gave back its 8 KiB; the other keeps its 4 KiB");
        Fault f = Fault.ofClient(e);
        assertEquals(503, f.status());
        assertFalse(f.countsAgainstServer());
        assertFalse(f.retryable(true, true, OverloadConfig.DEFAULT));
    }

    @Test
    void aBodyLongerThanItsContentLengthIsTheClientsError() throws Exception {
        BodyBuffer body = new BodyBuffer(new BodyBudget(64 << 10), 10);
        assertThrows(java.io.IOException.class, () -> body.append(bytes(11)));
        body.release();
    }
}
