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
        AsyncAccessLog log = new AsyncAccessLog(out, CLOCK, 16, AccessLogFormat.DEFAULT);
        log.log(entry(T, "/x?a=1", "127.0.0.1:9001"));
        log.log(entry(T + 1_877, "/none", null));
        log.close();
        assertEquals("""
                2025-01-31T12:00:00.123Z 127.0.0.1 "GET /x?a=1" 200 backend 127.0.0.1:9001 3ms 0 "-" "-"
                2025-01-31T12:00:02.000Z 127.0.0.1 "GET /none" 200 backend - 3ms 0 "-" "-"
                """, out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void anIdleWriterIsWokenByTheNextLine() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // A writer that, idle, would park for good: only a request's line can wake it.
        AsyncAccessLog log = new AsyncAccessLog(out, CLOCK, 16, AccessLogFormat.DEFAULT, Long.MAX_VALUE);
        for (String target : new String[] {"/first", "/second"}) {
            log.log(entry(T, target, "s"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!out.toString(StandardCharsets.UTF_8).contains("\"GET " + target + "\"")) {
                assertTrue(System.nanoTime() < deadline, "the idle writer wrote " + target);
                Thread.sleep(5);
            }
        }
        log.close();
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
        AsyncAccessLog log = new AsyncAccessLog(stuck, CLOCK, 2, AccessLogFormat.DEFAULT);
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
        assertEquals(3, log.dropped(), "counted for good, not only until the notice");
    }

    private static final AccessLog.Entry RETRIED = new AccessLog.Entry(T, "10.0.0.7", "POST", "/form?q=\"x\"", "HTTP/1.1", 201, "backend",
            "127.0.0.1:9002", 12, 5120, "https://example.com/", "Mozilla/5.0 \"quoted\"", "127.0.0.1:9001 502 (connect refused)", "0f1e2d3c");

    private static String format(String name, AccessLog.Entry e) {
        StringBuilder line = new StringBuilder();
        AccessLogFormat.of(name).append(line, e);
        return line.toString();
    }

    @Test
    void defaultFormatEndsWithBytesRefererUserAgentAndTheRetriedAttempts() {
        assertEquals("2025-01-31T12:00:00.123Z 10.0.0.7 \"POST /form?q=\"x\"\" 201 backend 127.0.0.1:9002 12ms 5120 "
                + "\"https://example.com/\" \"Mozilla/5.0 \\\"quoted\\\"\" request_id=0f1e2d3c retried: 127.0.0.1:9001 502 (connect refused)", format("default", RETRIED));
    }

    @Test
    void combinedFormatIsNginxsByteForByte() {
        assertEquals("10.0.0.7 - - [31/Jan/2025:12:00:00 +0000] \"POST /form?q=\"x\" HTTP/1.1\" 201 5120 "
                + "\"https://example.com/\" \"Mozilla/5.0 \\\"quoted\\\"\"", format("combined", RETRIED));
    }

    @Test
    void jsonFormatIsOneParseableObjectPerLine() {
        com.google.gson.JsonObject o = com.google.gson.JsonParser.parseString(format("json", RETRIED)).getAsJsonObject();
        assertEquals("2025-01-31T12:00:00.123Z", o.get("time").getAsString());
        assertEquals("/form?q=\"x\"", o.get("uri").getAsString());
        assertEquals(201, o.get("status").getAsInt());
        assertEquals(5120, o.get("bytes").getAsLong());
        assertEquals("Mozilla/5.0 \"quoted\"", o.get("user_agent").getAsString());
        assertEquals("127.0.0.1:9001 502 (connect refused)", o.get("retried").getAsString());
        assertEquals("0f1e2d3c", o.get("request_id").getAsString());
        assertTrue(o.get("referer").isJsonPrimitive());
        assertTrue(com.google.gson.JsonParser.parseString(format("json", entry(T, "/", null))).getAsJsonObject().get("server").isJsonNull());
    }

    @Test
    void fileIsReopenedByNameAfterItWasMoved(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("logs/access.log");
        AccessLog log = AccessLog.open(new io.upstreamproxy.config.ProxyConfig.AccessLog("default", file), CLOCK);
        log.log(entry(T, "/before", "s"));
        io.upstreamproxy.testing.Http.await("the first line", java.time.Duration.ofSeconds(10),
                () -> read(file).contains("/before"));
        java.nio.file.Files.move(file, dir.resolve("logs/access.log.1"));
        log.reopen();
        log.log(entry(T, "/after", "s"));
        log.close();
        assertTrue(read(file).contains("/after") && !read(file).contains("/before"), read(file));
        assertTrue(!read(dir.resolve("logs/access.log.1")).contains("/after"));
    }

    private static String read(java.nio.file.Path f) {
        try {
            return java.nio.file.Files.readString(f);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
