package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RawBackend;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * No thread waits for a client, and a client that reads slowly stops the upstream read instead
 * of filling the heap. The proxy's pool has 200 threads; more slow clients than that must not
 * keep a normal request from being served.
 */
class SlowClientsTest {
    private static final int SLOW_CLIENTS = 300;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private RunningProxy proxy(String proxySettings, String server) throws Exception {
        RunningProxy p = RunningProxy.start(("{'proxy': {" + proxySettings + "}, 'upstreams': {'web': {'servers': [{'server': '" + server + "'}]}}}")
                .replace('\'', '"'));
        open.add(p);
        return p;
    }

    private void startSlowUploads(RunningProxy p) throws Exception {
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            RawHttp c = RawHttp.connect(p.port());
            open.add(c);
            c.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n0123456789");
        }
    }

    private static void assertServedPromptly(RunningProxy p) throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> r = p.get("/normal");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(ms < 5000, "a normal request took " + ms + " ms behind " + SLOW_CLIENTS + " slow uploads");
    }

    @Test
    void slowBufferedUploadsHoldNoThread() throws Exception {
        Backend b = Backend.start("b");
        open.add(b);
        RunningProxy p = proxy("", b.address());
        startSlowUploads(p);
        assertServedPromptly(p);
        assertEquals(1, b.hits.get(), "no partial body was sent on");
    }

    @Test
    void slowStreamedUploadsHoldNoThread() throws Exception {
        // Streamed uploads reach their server at once; it gets its own upstream here, since a
        // backend that reads bodies with a blocking read (as this test one does) runs out of
        // threads itself, which is not what is measured.
        Backend sink = Backend.start("sink");
        open.add(sink);
        Backend b = Backend.start("b");
        open.add(b);
        RunningProxy p = RunningProxy.start(("{'proxy': {'buffer_body': 16}, 'upstreams': {'sink': {'servers': [{'server': '" + sink.address()
                + "'}]}, 'web': {'servers': [{'server': '" + b.address() + "'}]}}, 'routes': [{'path': '/upload', 'upstream': 'sink'}, {'path': '/', 'upstream': 'web'}]}")
                .replace('\'', '"'));
        open.add(p);
        startSlowUploads(p);
        assertServedPromptly(p);
    }

    @Test
    void aClientThatDoesNotReadStopsTheUpstreamRead() throws Exception {
        AtomicLong written = new AtomicLong();
        long total = 256L << 20;
        RawBackend big = RawBackend.start((head, out) -> {
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + total + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] block = new byte[64 << 10];
            while (written.get() < total) {
                out.write(block); // blocks once the proxy stops reading
                written.addAndGet(block.length);
            }
        });
        open.add(big);
        RunningProxy p = proxy("", big.address());
        RawHttp c = RawHttp.connect(p.port());
        open.add(c);
        c.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
        // Watch for a while: what the server got to write must stay within the socket buffers
        // (kernel and Jetty's, a few MiB on loopback), never approach the 256 MiB body.
        long bound = 32L << 20;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        while (System.nanoTime() < end) {
            assertTrue(written.get() < bound, "the proxy read " + (written.get() >> 20) + " MiB ahead of a client that reads nothing");
            Thread.sleep(50); // sampling interval of a measurement, not a wait for a state
        }
        assertServedPromptly(proxyForNormal());
    }

    private RunningProxy proxyForNormal() throws Exception {
        Backend b = Backend.start("n");
        open.add(b);
        return proxy("", b.address());
    }
}
