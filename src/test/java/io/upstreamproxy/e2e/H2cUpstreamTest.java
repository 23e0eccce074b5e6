package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.upstreamproxy.proxy.StreamPools;
import io.upstreamproxy.testing.H2cBackend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code "protocol": "h2c"}: HTTP/1.1 clients through the proxy to servers that speak only
 * HTTP/2 in clear text, requests sharing a connection as streams.
 */
class H2cUpstreamTest {
    @TempDir
    Path dir;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private H2cBackend backend(String name) throws Exception {
        H2cBackend b = H2cBackend.start(name);
        open.add(b);
        return b;
    }

    private RunningProxy proxy(String upstreamExtra, String... servers) throws Exception {
        return proxyWith("", upstreamExtra, servers);
    }

    /** {@code top}: more top-level keys, each followed by a comma. */
    private RunningProxy proxyWith(String top, String upstreamExtra, String... servers) throws Exception {
        StringBuilder list = new StringBuilder();
        for (String s : servers) {
            list.append(list.length() == 0 ? "" : ", ").append("{'server': '").append(s).append("'}");
        }
        RunningProxy p = RunningProxy.startWithAccessLog(("{" + top + "'upstreams': {'web': {'protocol': 'h2c'" + upstreamExtra
                + ", 'servers': [" + list + "]}}, 'access_log': {'file': 'access.log'}}").replace('\'', '"'), dir.resolve("c.json"));
        open.add(p);
        return p;
    }

    @Test
    void aGetReachesAnH2cServerWithStatusHeadersAndBody() throws Exception {
        H2cBackend b = backend("b1");
        RunningProxy p = proxy("", b.address());
        HttpResponse<String> r = p.get("/hello?x=1");
        assertEquals(200, r.statusCode());
        assertEquals("b1 GET /hello?x=1 0 HTTP/2.0", r.body());
        assertEquals("b1", r.headers().firstValue("x-backend").orElse(null));
        // the lease ends as the exchange does, a moment after the answer reached the client
        Http.await("the lease ended", Duration.ofSeconds(5), () -> p.registry().get("web").server(0).active() == 0);
        var stats = p.registry().get("web").server(0).stats();
        assertEquals(1, stats.requests(), "counted per stream, as per HTTP/1.1 exchange");
        assertEquals(1, stats.responses(2));
        assertEquals(r.body().length(), stats.received(), "the body bytes received");
        Http.await("the access log line", Duration.ofSeconds(5), () -> log().contains("/hello?x=1"));
        assertTrue(log().contains("\"GET /hello?x=1\" 200"), log());
    }

    @Test
    void aStreamedUploadGoesUpAndTheServersTrailersComeBack() throws Exception {
        H2cBackend b = backend("b1");
        RunningProxy p = proxy("", b.address());
        String part = "x".repeat(100_000);
        StringBuilder req = new StringBuilder("POST /trailers HTTP/1.1\r\nHost: h\r\nTE: trailers\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 5; i++) {
            req.append(Integer.toHexString(part.length())).append("\r\n").append(part).append("\r\n");
        }
        req.append("0\r\n\r\n");
        try (RawHttp c = RawHttp.connect(p.port())) {
            RawHttp.Reply r = c.send(req.toString()).read();
            assertEquals(200, r.status());
            assertEquals("b1 POST /trailers 500000 HTTP/2.0", r.body());
            assertEquals("500000", r.trailers().get("x-sum"), r.head());
        }
    }

    @Test
    void aDeadServerIsPassedOverBeforeTheFirstByte() throws Exception {
        H2cBackend b = backend("b1");
        int dead;
        try (ServerSocket s = new ServerSocket(0)) {
            dead = s.getLocalPort();
        }
        RunningProxy p = proxy("", "127.0.0.1:" + dead, b.address());
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = p.get("/r" + i);
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().startsWith("b1 GET /r" + i), r.body());
        }
        assertTrue(p.registry().get("web").server(0).stats().fails() >= 1, "the dead server's connect failure counted");
    }

    @Test
    void concurrentRequestsShareOneConnectionUpToMaxConcurrentStreams() throws Exception {
        H2cBackend b = backend("b1");
        RunningProxy p = proxy(", 'max_concurrent_streams': 2", b.address());
        b.hold = new CountDownLatch(1);
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            calls.add(Http.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(p.url("/c" + i)))));
        }
        Http.await("six requests at the server", Duration.ofSeconds(10), () -> b.seen.size() == 6);
        assertEquals(3, b.connections(), "2 streams per connection: 3 connections for 6 requests");
        assertEquals(6, p.registry().get("web").server(0).active());
        b.hold.countDown();
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            assertEquals(200, c.get().statusCode());
        }
        assertEquals(0, p.registry().get("web").server(0).active());
        HttpResponse<String> again = p.get("/again");
        assertEquals(200, again.statusCode());
        assertEquals(3, b.connections(), "the connections stay open for the next requests");
    }

    /** A proxy with one connection of one stream to {@code b}, and a queue with {@code timeout}; {@code top} as for proxyWith. */
    private RunningProxy oneStream(H2cBackend b, String top, String timeout) throws Exception {
        return proxyWith(top + "'proxy': {'max_connections_per_server': 1}, ",
                ", 'max_concurrent_streams': 1, 'queue': {'size': 5, 'timeout': '" + timeout + "'}", b.address());
    }

    /** A request {@code b} holds until its {@code hold} is counted down, so that the one stream is taken. */
    private static CompletableFuture<HttpResponse<String>> held(RunningProxy p, H2cBackend b) throws InterruptedException {
        b.hold = new CountDownLatch(1);
        CompletableFuture<HttpResponse<String>> first = Http.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(p.url("/first"))));
        Http.await("the first request at the server", Duration.ofSeconds(10), () -> b.seen.size() == 1);
        return first;
    }

    /**
     * One connection with one stream, both taken: a second request waits for the stream, and
     * the upstream's queue.timeout ends that wait with a 503 that blames no server, as the
     * HTTP/1.1 pool's wait ends (OverloadTest).
     */
    @Test
    void aWaitForAStreamEndsAtTheQueueTimeout() throws Exception {
        H2cBackend b = backend("b1");
        RunningProxy p = oneStream(b, "", "300ms");
        CompletableFuture<HttpResponse<String>> first = held(p, b);
        long start = System.nanoTime();
        HttpResponse<String> r = p.get("/second");
        long ms = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(503, r.statusCode(), r.body());
        assertTrue(r.body().contains("queue.timeout 300ms"), r.body());
        assertTrue(ms >= 250 && ms < 5000, "answered at the queue's timeout: " + ms + " ms");
        b.hold.countDown();
        assertEquals(200, first.get().statusCode());
        assertEquals(200, p.get("/after").statusCode(), "the stream is free for the next request");
        assertEquals(List.of("/first", "/after"), b.seen, "the request that timed out never reached the server");
        assertEquals(0, p.registry().get("web").server(0).stats().fails());
    }

    /**
     * An HTTP/2 client resets its stream while its request waits for an upstream stream: it
     * leaves the wait at once. In the jar only: through the servlet front end the reset went
     * unheard in 2 runs of the class out of 9 (the request stayed in the wait, nothing logged),
     * cause not yet found; docs/overload.md says so.
     */
    @Test
    void aClientThatLeavesWhileWaitingForAStreamLeavesTheWait() throws Exception {
        H2cBackend b = backend("b1");
        RunningProxy p = oneStream(b, "'listen': {'host': '127.0.0.1', 'port': 0, 'http2': true}, ", "60s");
        assumeTrue(p.coreFrontEnd(), "the servlet front end misses the reset at times (see above)");
        CompletableFuture<HttpResponse<String>> first = held(p, b);
        HTTP2Client h2 = new HTTP2Client();
        h2.start();
        open.add(h2::stop);
        Session session = h2.connect(new InetSocketAddress("127.0.0.1", p.port()), new Session.Listener() { }).get(5, java.util.concurrent.TimeUnit.SECONDS);
        MetaData.Request request = new MetaData.Request("GET", HttpURI.from("http://127.0.0.1:" + p.port() + "/leaving"), HttpVersion.HTTP_2, HttpFields.EMPTY);
        Stream stream = session.newStream(new HeadersFrame(request, null, true), new Stream.Listener() { }).get(5, java.util.concurrent.TimeUnit.SECONDS);
        Http.await("the request waits for a stream", Duration.ofSeconds(10), () -> StreamPools.queued(p.runtime().engine(), b.address()) == 1);
        stream.reset(new ResetFrame(stream.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
        Http.await("the reset request logged 499 while the first still holds the stream", Duration.ofSeconds(10),
                () -> log().contains("\"GET /leaving\" 499"));
        assertEquals(0, StreamPools.queued(p.runtime().engine(), b.address()));
        assertEquals(1, p.registry().get("web").server(0).active());
        b.hold.countDown();
        assertEquals(200, first.get().statusCode());
        assertEquals(200, p.get("/after").statusCode());
        assertEquals(List.of("/first", "/after"), b.seen, "the server never saw the request that left");
    }

    @Test
    void aSilentServerIs504AfterReadTimeout() throws Exception {
        H2cBackend b = backend("b1");
        b.hold = new CountDownLatch(1);
        RunningProxy p = proxyWith("'proxy': {'read_timeout': '300ms'}, ", ", 'retries': 0", b.address());
        assertEquals(504, p.get("/silent").statusCode());
        assertEquals(1, p.registry().get("web").server(0).stats().fails());
        b.hold.countDown();
    }

    @Test
    void aClientSlowerThanReadTimeoutIsNotTheServersFault() throws Exception {
        H2cBackend b = backend("b1");
        RunningProxy p = proxyWith("'proxy': {'read_timeout': '300ms'}, ", ", 'retries': 0", b.address());
        try (RawHttp c = RawHttp.connect(p.port())) {
            RawHttp.Reply head = c.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n").readHeadOnly();
            assertEquals(200, head.status());
            Thread.sleep(1000); // the client's pace: it reads nothing for over three read_timeouts
            byte[] body = c.input().readNBytes(4 << 20);
            assertEquals(4 << 20, body.length, "the whole body arrives");
        }
        assertEquals(0, p.registry().get("web").server(0).stats().fails(), "the server sent all it could: no timeout counted");
    }

    private String log() {
        try {
            Path f = dir.resolve("access.log");
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
