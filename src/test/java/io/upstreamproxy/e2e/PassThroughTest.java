package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.RawBackend;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the server answers reaches the client as it was sent: the upstream client decodes
 * nothing and acts on no response (no gzip decoding, no authentication round, no body
 * buffering for a 401). Runs on both front ends (the pom's surefire executions).
 */
class PassThroughTest {
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private RunningProxy proxyTo(RawBackend backend) throws Exception {
        open.add(backend);
        RunningProxy p = RunningProxy.inFrontOf(backend.address());
        open.add(p);
        return p;
    }

    private static HttpResponse<byte[]> get(RunningProxy p, String... headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(p.url("/"))).timeout(Duration.ofSeconds(10));
        if (headers.length > 0) {
            r.headers(headers);
        }
        return CLIENT.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static byte[] gzip(byte[] plain) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
            out.write(plain);
        }
        return bytes.toByteArray();
    }

    private static byte[] response(String head, byte[] body) {
        byte[] h = (head + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = Arrays.copyOf(h, h.length + body.length);
        System.arraycopy(body, 0, all, h.length, body.length);
        return all;
    }

    @Test
    void passesACompressedBodyThroughUndecoded() throws Exception {
        byte[] compressed = gzip("hello world ".repeat(500).getBytes(StandardCharsets.US_ASCII));
        RunningProxy p = proxyTo(RawBackend.start((head, out) -> out.write(response(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nETag: \"v1-gzip\"\r\n", compressed))));

        HttpResponse<byte[]> r = get(p, "Accept-Encoding", "gzip");
        assertEquals(200, r.statusCode());
        assertEquals("gzip", r.headers().firstValue("Content-Encoding").orElse(null));
        assertEquals(String.valueOf(compressed.length), r.headers().firstValue("Content-Length").orElse(null));
        assertEquals("\"v1-gzip\"", r.headers().firstValue("ETag").orElse(null));
        assertArrayEquals(compressed, r.body(), "the server's gzip bytes, as sent");
    }

    @Test
    void asksTheServerForNoEncodingTheClientDidNotAskFor() throws Exception {
        StringBuilder seen = new StringBuilder();
        RunningProxy p = proxyTo(RawBackend.start((head, out) -> {
            seen.append(head);
            out.write(response("HTTP/1.1 200 OK\r\n", "ok".getBytes(StandardCharsets.US_ASCII)));
        }));

        assertEquals(200, get(p).statusCode());
        assertTrue(!seen.toString().toLowerCase().contains("accept-encoding"), seen.toString());
    }

    @Test
    void passesAChallengeWithALargeBodyThroughWhole() throws Exception {
        byte[] page = "<p>sign in</p>\n".repeat(5_000).getBytes(StandardCharsets.US_ASCII); // 75 KB, past any buffering limit
        RunningProxy p = proxyTo(RawBackend.start((head, out) -> out.write(response(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"app\"\r\nContent-Type: text/html\r\n", page))));

        try (RawHttp client = RawHttp.connect(p.port())) {
            RawHttp.Reply r = client.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n").read();
            assertEquals(401, r.status());
            assertEquals("Basic realm=\"app\"", r.headers().get("www-authenticate")); // Java's HttpClient would unquote it
            assertEquals(new String(page, StandardCharsets.US_ASCII), r.body());
        }
    }

    @Test
    void passesAProxyChallengeFromTheServerThrough() throws Exception {
        byte[] page = "proxy sign in\n".repeat(3_000).getBytes(StandardCharsets.US_ASCII);
        RunningProxy p = proxyTo(RawBackend.start((head, out) -> out.write(response(
                "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n", page))));

        HttpResponse<byte[]> r = get(p);
        assertEquals(407, r.statusCode());
        assertArrayEquals(page, r.body());
    }

    @Test
    void answersAfterInterimResponses() throws Exception {
        RunningProxy p = proxyTo(RawBackend.start((head, out) -> {
            out.write("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.write(response("HTTP/1.1 200 OK\r\n", "final".getBytes(StandardCharsets.US_ASCII)));
        }));

        HttpResponse<byte[]> r = get(p);
        assertEquals(200, r.statusCode());
        assertEquals("final", new String(r.body(), StandardCharsets.US_ASCII));
    }

    @Test
    void answersAHeadRequestWithTheLengthOfABodyItDoesNotSend() throws Exception {
        RunningProxy p = proxyTo(RawBackend.start((head, out) -> out.write(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1))));
        try (RawHttp client = RawHttp.connect(p.port())) {
            RawHttp.Reply r = client.send("HEAD /file HTTP/1.1\r\nHost: app\r\n\r\n").readHeadOnly();
            assertEquals(200, r.status());
            assertEquals("1234", r.headers().get("content-length"));
            client.send("HEAD /again HTTP/1.1\r\nHost: app\r\n\r\n");
            assertEquals(200, client.readHeadOnly().status(), "no body was sent: the next response follows at once on the same connection");
        }
    }
}
