package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client's fault is never a server's fault: each misbehaviour a hostile or careless client can
 * commit, sent byte by byte over a raw socket to the real proxy in front of two real Jetty
 * backends with {@code max_fails: 1}. After each one both servers must still be {@code up} with
 * no failure counted (read through the management API, as an operator would), the client must get
 * the right status in the JSON error shape, and the request must not have been retried.
 */
class ClientFaultsTest {
    private final List<AutoCloseable> open = new ArrayList<>();
    private Backend a;
    private Backend b;
    private RunningProxy proxy;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private RunningProxy start(String proxySettings) throws Exception {
        a = Backend.start("a");
        open.add(a);
        b = Backend.start("b");
        open.add(b);
        a.maxRequestHeaderSize(32 << 10); // the backends take what the proxy forwards: its head plus X-Forwarded-*
        b.maxRequestHeaderSize(32 << 10);
        proxy = RunningProxy.start(("{'proxy': {" + proxySettings + "}, 'upstreams': {'web': {'servers': [{'server': '" + a.address()
                + "', 'max_fails': 1, 'fail_timeout': '30s'}, {'server': '" + b.address() + "', 'max_fails': 1, 'fail_timeout': '30s'}]}}}")
                .replace('\'', '"'));
        open.add(proxy);
        return proxy;
    }

    private RawHttp connect() throws Exception {
        RawHttp c = RawHttp.connect(proxy.port());
        open.add(c);
        return c;
    }

    /** Both servers up, nothing counted against either, nothing in flight: read through the API. */
    private void assertServersUntouched() throws Exception {
        for (int id = 0; id < 2; id++) {
            int server = id;
            Http.await("server " + id + " has no request in flight", Duration.ofSeconds(10), () -> server(server).get("active").getAsInt() == 0);
            JsonObject s = server(id);
            assertEquals("up", s.get("state").getAsString(), s.toString());
            assertEquals(0, s.get("fails").getAsInt(), s.toString());
        }
        assertEquals(200, proxy.get("/after").statusCode(), "other clients are still served");
    }

    private JsonObject server(int id) {
        try {
            String body = Http.get(proxy.url("/api/upstreams/web/servers/" + id)).body();
            return JsonParser.parseString(body).getAsJsonObject();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void assertJsonError(RawHttp.Reply r, int status) {
        assertEquals(status, r.status(), r.head() + r.body());
        assertTrue(r.headers().getOrDefault("content-type", "").startsWith("application/json"), r.head());
        assertTrue(r.body().contains("\"status\":" + status), r.body());
    }

    /** Requests the backends saw, other than the check that other clients are still served. */
    private long hits() {
        return a.seen.stream().filter(s -> !s.pathQuery().equals("/after")).count()
                + b.seen.stream().filter(s -> !s.pathQuery().equals("/after")).count();
    }

    @Test
    void headJustUnderTheListenerLimitIsForwarded() throws Exception {
        start("");
        // 8 KiB is the default proxy.max_header_size; this head is a little under it.
        String big = "x".repeat(8192 - 200);
        RawHttp.Reply r = connect().send("GET /big HTTP/1.1\r\nHost: example.test\r\nX-Big: " + big + "\r\nConnection: close\r\n\r\n").read();
        assertEquals(200, r.status(), r.body());
        assertEquals(1L, hits());
        assertServersUntouched();
    }

    @Test
    void uriJustUnderTheListenerLimitIsForwarded() throws Exception {
        start("");
        String path = "/" + "p".repeat(8192 - 200);
        RawHttp.Reply r = connect().send("GET " + path + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").read();
        assertEquals(200, r.status(), r.body());
        assertEquals(path, (a.seen.isEmpty() ? b : a).seen.get(0).pathQuery());
        assertServersUntouched();
    }

    @Test
    void oversizedHeaderIs431() throws Exception {
        start("'max_header_size': '4k'");
        RawHttp.Reply r = connect().send("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + "x".repeat(5000) + "\r\n\r\n").read();
        assertJsonError(r, 431);
        assertEquals(0L, hits());
        assertServersUntouched();
    }

    @Test
    void oversizedUriIs414() throws Exception {
        start("'max_header_size': '4k'");
        RawHttp.Reply r = connect().send("GET /" + "u".repeat(5000) + " HTTP/1.1\r\nHost: h\r\n\r\n").read();
        assertJsonError(r, 414);
        assertEquals(0L, hits());
        assertServersUntouched();
    }

    @Test
    void brokenChunkedFramingIs400() throws Exception {
        start("");
        RawHttp.Reply r = connect().send("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nbroken\r\n").read();
        assertJsonError(r, 400);
        assertTrue(hits() <= 1, "never retried");
        assertServersUntouched();
    }

    @Test
    void abandonedStreamedUploadCountsNothing() throws Exception {
        start("'buffer_body': 16");
        RawHttp c = connect();
        c.send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n" + "y".repeat(1000));
        Http.await("the upload reached a backend", Duration.ofSeconds(10), () -> server(0).get("active").getAsInt() + server(1).get("active").getAsInt() == 1);
        c.close();
        assertServersUntouched();
        assertTrue(hits() <= 1, "never retried");
    }

    @Test
    void abandonedBufferedUploadCountsNothing() throws Exception {
        start("");
        RawHttp c = connect();
        c.send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789");
        c.close();
        assertServersUntouched();
        assertEquals(0L, hits(), "a body that never arrived whole is never sent");
    }

    @Test
    void stalledBufferedBodyIs408() throws Exception {
        start("'client_body_timeout': '300ms'");
        RawHttp.Reply r = connect().send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789").read();
        assertJsonError(r, 408);
        assertEquals(0L, hits());
        assertServersUntouched();
    }

    @Test
    void stalledStreamedBodyIs408() throws Exception {
        start("'client_body_timeout': '300ms', 'buffer_body': 16");
        RawHttp.Reply r = connect().send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n" + "y".repeat(1000)).read();
        assertJsonError(r, 408);
        assertTrue(hits() <= 1, "never retried");
        assertServersUntouched();
    }

    @Test
    void clientSilentMidHeadIsDisconnectedAfterClientHeaderTimeout() throws Exception {
        start("'client_header_timeout': '300ms'");
        RawHttp c = connect();
        c.send("GET / HTTP/1.1\r\nHost: h\r\nX-Slow: "); // and nothing more, as slowloris
        long t0 = System.nanoTime();
        c.timeout(5000);
        assertTrue(c.closedByPeer(), "the proxy closes a connection whose head stalls");
        long ms = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms < 3000, "closed after " + ms + " ms, client_header_timeout is 300 ms");
        assertEquals(0L, hits());
        assertServersUntouched();
    }

    @Test
    void declaredBodyOverMaxBodySizeIs413BeforeAnyServerIsAsked() throws Exception {
        start("'max_body_size': '1k'");
        RawHttp.Reply r = connect().send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n").read();
        assertJsonError(r, 413);
        assertEquals(0L, hits());
        assertServersUntouched();
    }

    @Test
    void chunkedBodyGrowingOverMaxBodySizeIs413() throws Exception {
        start("'max_body_size': '1k', 'buffer_body': 16");
        String chunk = Integer.toHexString(600) + "\r\n" + "z".repeat(600) + "\r\n";
        RawHttp.Reply r = connect().send("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + chunk).read();
        assertJsonError(r, 413);
        assertTrue(hits() <= 1, "never retried");
        assertServersUntouched();
    }
}
