package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.upstream.Clock;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AsyncAccessLogTest {
    private static final long T = 1_738_324_800_123L; // 2025-01-31T12:00:00.123Z
    private static final Clock CLOCK = new Clock() {
        @Override
        public long nanos() {
            return 0;
        }

        @Override
        public long wallMillis() {
            return T;
        }
    };

    private static AccessLog.Entry entry(long wallMillis, String target, String server) {
        return new AccessLog.Entry(wallMillis, "127.0.0.1", "GET", target, 200, "backend", server, 3);
    }

    @Test
    void writesOneLinePerRequestStampedWithItsUtcEndTime() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AsyncAccessLog log = new AsyncAccessLog(out, CLOCK, 16);
        log.log(entry(T, "/x?a=1", "127.0.0.1:9001"));
        log.log(entry(T + 1_877, "/none", null));
        log.close();
        assertEquals("""
                2025-01-31T12:00:00.123Z 127.0.0.1 "GET /x?a=1" 200 backend 127.0.0.1:9001 3ms
                2025-01-31T12:00:02.000Z 127.0.0.1 "GET /none" 200 backend - 3ms
                """, out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void dropsWhatDoesNotFitWhileTheOutputIsStuckAndSaysHowMany() throws Exception {
        CountDownLatch writing = new CountDownLatch(1);
        CountDownLatch unblock = new CountDownLatch(1);
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        OutputStream stuck = new OutputStream() {
            @Override
            public void write(int b) {
                written.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                writing.countDown();
                try {
                    unblock.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                written.write(b, off, len);
            }
        };
        AsyncAccessLog log = new AsyncAccessLog(stuck, CLOCK, 2);
        log.log(entry(T, "/1", "s"));
        assertTrue(writing.await(10, TimeUnit.SECONDS), "the writer took the first line");
        for (int i = 2; i <= 6; i++) {
            log.log(entry(T, "/" + i, "s")); // 2 and 3 fit the queue, 4 to 6 are dropped
        }
        unblock.countDown();
        log.close();
        String text = written.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("\"GET /1\"") && text.contains("\"GET /2\"") && text.contains("\"GET /3\""), text);
        assertTrue(!text.contains("\"GET /4\""), text);
        assertTrue(text.contains("access log: 3 line(s) dropped"), text);
    }
}
