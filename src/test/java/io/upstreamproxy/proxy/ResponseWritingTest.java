package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The response path ({@link ResponseWriter}): bodies arrive whole, however fast the client reads. */
class ResponseWritingTest {
    private Backend backend;
    private RunningProxy proxy;

    @BeforeEach
    void start() throws Exception {
        backend = Backend.start("b1");
        proxy = RunningProxy.start("""
                { "upstreams": { "b": { "servers": [ { "server": "%s", "max_fails": 0 } ] } },
                  "proxy": { "read_timeout": "500ms" } }""".formatted(backend.address()));
    }

    @AfterEach
    void stop() throws Exception {
        proxy.close();
        backend.close();
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new Random(42).nextBytes(b);
        return b;
    }

    @Test
    void streamsLargeBodyIntact() throws Exception {
        backend.responseBody = randomBytes(4 << 20);
        HttpResponse<byte[]> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                .send(HttpRequest.newBuilder(URI.create(proxy.url("/big"))).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        assertArrayEquals(backend.responseBody, r.body());
    }

    @Test
    void slowReaderWithSmallWindowGetsWholeBody() throws Exception {
        backend.responseBody = randomBytes(2 << 20);
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(4096); // the proxy's writes find the client's window full and must wait
            s.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()));
            OutputStream out = s.getOutputStream();
            out.write("GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] all = readAll(s.getInputStream(), 512);
            byte[] body = afterHeaders(all);
            assertArrayEquals(backend.responseBody, body);
        }
    }

    @Test
    void keepsServingAfterClientLeavesMidBody() throws Exception {
        backend.responseBody = randomBytes(8 << 20);
        for (int i = 0; i < 5; i++) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
                s.getOutputStream().write("GET /gone HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                s.getInputStream().readNBytes(1000); // then close with most of the body unread
            }
        }
        backend.responseBody = null;
        HttpResponse<String> r = proxy.get("/after");
        assertEquals(200, r.statusCode());
        assertEquals("b1", r.body());
    }

    @Test
    void concurrentRequestsEachGetTheirOwnBody() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                String path = "/n/" + i;
                answers.add(pool.submit(() -> {
                    HttpResponse<String> r = proxy.get(path);
                    return r.statusCode() + " " + r.body();
                }));
            }
            for (Future<String> a : answers) {
                assertEquals("200 b1", a.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(400, backend.hits.get());
    }

    @Test
    void answers502WhenTheOnlyServerIsDown() throws Exception {
        try (RunningProxy dead = RunningProxy.start("""
                { "upstreams": { "b": { "servers": [ { "server": "127.0.0.1:%d" } ] } } }""".formatted(Backend.deadPort()))) {
            assertEquals(502, dead.get("/x").statusCode());
        }
    }

    @Test
    void answers504WhenTheServerIsTooSlow() throws Exception {
        backend.holdRequests(1);
        try {
            assertEquals(504, proxy.get("/held").statusCode());
        } finally {
            backend.release();
        }
        Http.await("the proxy to answer again", Duration.ofSeconds(10), () -> {
            try {
                return proxy.get("/again").statusCode() == 200;
            } catch (Exception e) {
                return false;
            }
        });
    }

    private static byte[] readAll(InputStream in, int chunk) throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] b = new byte[chunk];
        for (int n; (n = in.read(b)) >= 0; ) {
            all.write(b, 0, n);
        }
        return all.toByteArray();
    }

    private static byte[] afterHeaders(byte[] response) {
        for (int i = 0; i + 3 < response.length; i++) {
            if (response[i] == '\r' && response[i + 1] == '\n' && response[i + 2] == '\r' && response[i + 3] == '\n') {
                byte[] body = new byte[response.length - i - 4];
                System.arraycopy(response, i + 4, body, 0, body.length);
                return body;
            }
        }
        throw new AssertionError("no end of headers in " + response.length + " bytes");
    }
}
