package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.RawBackend;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Response bytes reach the client as the server sends them, framed as the server framed them,
 * and a response the server cuts short is cut short to the client. Timing is measured by
 * timestamps on both sides (the backend's sleeps space the events; nothing here sleeps to wait
 * for a state), with a tolerance wide enough for a busy machine.
 */
class StreamingTest {
    private static final long GAP_MS = 400;
    private static final long TOLERANCE_MS = 200;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private RunningProxy proxyFor(RawBackend backend) throws Exception {
        open.add(backend);
        RunningProxy p = RunningProxy.inFrontOf(backend.address());
        open.add(p);
        return p;
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static String chunk(String s) {
        return Integer.toHexString(s.length()) + "\r\n" + s + "\r\n";
    }

    private static long now() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
    }

    @Test
    void serverSentEventsArriveAsTheServerSendsThem() throws Exception {
        List<Long> sent = new CopyOnWriteArrayList<>();
        RunningProxy p = proxyFor(RawBackend.start((head, out) -> {
            sent.add(now());
            write(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < 4; i++) {
                Thread.sleep(GAP_MS); // the server's pace, which the client must see
                sent.add(now());
                write(out, chunk("data: " + i + "\n\n"));
            }
            write(out, "0\r\n\r\n");
        }));
        try (RawHttp c = RawHttp.connect(p.port())) {
            RawHttp.Reply head = c.send("GET /events HTTP/1.1\r\nHost: h\r\n\r\n").readHeadOnly();
            long headAt = now();
            assertEquals(200, head.status());
            assertEquals("chunked", head.headers().get("transfer-encoding"), head.head());
            assertNull(head.headers().get("content-length"), head.head());
            assertTrue(headAt - sent.get(0) < TOLERANCE_MS, "the head arrives before any event: " + (headAt - sent.get(0)) + " ms");
            List<Long> arrived = new ArrayList<>();
            while (arrived.size() < 4) {
                String line = c.readLine();
                if (line.startsWith("data: ")) {
                    arrived.add(now());
                }
            }
            for (int i = 0; i < 4; i++) {
                long lag = arrived.get(i) - sent.get(i + 1);
                assertTrue(lag < TOLERANCE_MS, "event " + i + " arrived " + lag + " ms after the server sent it");
            }
            long spread = arrived.get(3) - arrived.get(0);
            assertTrue(Math.abs(spread - 3 * GAP_MS) < TOLERANCE_MS, "events 400 ms apart arrive ~1200 ms apart over three gaps, not " + spread);
        }
    }

    @Test
    void earlyHintsAreDroppedCleanly() throws Exception {
        // Servlet 6 has no way to send a 1xx of our choosing, so a 103 is not forwarded; the
        // final response that follows it must arrive whole.
        RunningProxy p = proxyFor(RawBackend.start((head, out) -> write(out, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfinal")));
        try (RawHttp c = RawHttp.connect(p.port())) {
            RawHttp.Reply r = c.send("GET /hints HTTP/1.1\r\nHost: h\r\n\r\n").read();
            assertEquals(200, r.status(), r.head());
            assertEquals("final", r.body());
        }
    }

    @Test
    void chunkedStaysChunked() throws Exception {
        RunningProxy p = proxyFor(RawBackend.start((head, out) ->
                write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk("hello") + "0\r\n\r\n")));
        try (RawHttp c = RawHttp.connect(p.port())) {
            RawHttp.Reply r = c.send("GET /c HTTP/1.1\r\nHost: h\r\n\r\n").read();
            assertEquals("hello", r.body());
            assertEquals("chunked", r.headers().get("transfer-encoding"), r.head());
            assertNull(r.headers().get("content-length"), r.head());
        }
    }

    @Test
    void knownLengthBodyIsFlushedPieceByPiece() throws Exception {
        List<Long> sent = new CopyOnWriteArrayList<>();
        RunningProxy p = proxyFor(RawBackend.start((head, out) -> {
            sent.add(now());
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst");
            Thread.sleep(GAP_MS);
            write(out, "later");
        }));
        try (RawHttp c = RawHttp.connect(p.port())) {
            RawHttp.Reply head = c.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n").readHeadOnly();
            assertEquals("10", head.headers().get("content-length"));
            byte[] first = c.input().readNBytes(5);
            long lag = now() - sent.get(0);
            assertEquals("first", new String(first, StandardCharsets.US_ASCII));
            assertTrue(lag < TOLERANCE_MS, "the first half arrived " + lag + " ms after it was sent, not with the rest");
            assertEquals("later", new String(c.input().readNBytes(5), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void chunkedResponseCutShortIsCutShortToTheClient() throws Exception {
        RunningProxy p = proxyFor(RawBackend.start((head, out) ->
                write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk("partial"))));
        try (RawHttp c = RawHttp.connect(p.port())) {
            c.send("GET /cut HTTP/1.1\r\nHost: h\r\n\r\n");
            IOException e = assertThrows(IOException.class, c::read, "no terminal chunk: the client must see the connection end");
            assertTrue(e.getMessage() != null, e.toString());
        }
    }

    @Test
    void knownLengthResponseCutShortIsCutShortToTheClient() throws Exception {
        RunningProxy p = proxyFor(RawBackend.start((head, out) ->
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")));
        try (RawHttp c = RawHttp.connect(p.port())) {
            RawHttp.Reply head = c.send("GET /cut HTTP/1.1\r\nHost: h\r\n\r\n").readHeadOnly();
            assertEquals(200, head.status());
            byte[] body = c.input().readAllBytes();
            assertTrue(body.length < 100, "got " + body.length + " of 100 bytes, then the connection closed");
        }
    }
}
