package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Curl;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.TestCerts;
import io.upstreamproxy.testing.TestCerts.KeyFormat;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.client.transport.HttpClientTransportOverHTTP2;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jar's listeners end to end: plain and HTTPS side by side, HTTP/2 (h2, h2c), certificate renewal, refusals. */
class TlsListenersTest {
    static TestCerts ca;
    @TempDir Path dir;
    Backend backend;
    Backend spare;
    Main proxy;
    Path cert;
    Path key;
    Path caFile;

    @BeforeAll
    static void makeCa() throws Exception {
        ca = TestCerts.newCa("Listener CA");
    }

    @BeforeEach
    void start() throws Exception {
        backend = Backend.start("b1");
        spare = Backend.start("spare");
        cert = dir.resolve("site.crt");
        key = dir.resolve("site.key");
        caFile = ca.writeCa(dir.resolve("ca.pem"));
        ca.write(ca.issue(KeyFormat.PKCS1_RSA, "localhost", "127.0.0.1"), KeyFormat.PKCS1_RSA, cert, key);
        String json = """
                { "listen": [ { "host": "127.0.0.1", "port": 0, "http2": true },
                              { "host": "127.0.0.1", "port": 0, "tls": { "cert": "site.crt", "key": "site.key", "check_interval": "100ms" } } ],
                  "upstreams": { "backend": { "servers": [ { "server": "%s" }, { "server": "%s", "backup": true } ] } } }
                """.formatted(backend.address(), spare.address());
        ProxyConfig config = ConfigLoader.parse(json, dir.resolve("proxy.json"));
        assertTrue(config.listeners().get(1).http2(), "http2 defaults to true on TLS listeners");
        proxy = Main.start(config, false, false);
    }

    @AfterEach
    void stop() throws Exception {
        try {
            proxy.stop();
        } catch (java.util.concurrent.TimeoutException e) {
            // Jetty's HTTP/2 graceful-shutdown race (docs/tls.md, "Known limits"): once in a while
            // the stop waits out the whole grace period after HTTP/2 clients came and went. The
            // server is stopped all the same; this test is about what it served before.
        }
        backend.close();
        spare.close();
    }

    String https(String path) {
        return "https://127.0.0.1:" + proxy.port(1) + path;
    }

    String http(String path) {
        return "http://127.0.0.1:" + proxy.port(0) + path;
    }

    @Test
    void servesPlainAndHttpsSideBySide() throws Exception {
        // A TLS listener makes the whole server hand reads to pool threads (CoreProxyHandler says why).
        assertFalse(proxy.nonBlocking());
        assertEquals("b1", Http.get(http("/")).body());
        HttpClient client = HttpClient.newBuilder().sslContext(ca.clientContext()).version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(https("/x"))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertEquals("b1", r.body());
        assertEquals("https", backend.seen.get(backend.seen.size() - 1).headers().get("x-forwarded-proto"));
    }

    /** Jetty's HTTP client speaking only HTTP/2, trusting the test CA; the caller stops it. */
    private org.eclipse.jetty.client.HttpClient http2Client() throws Exception {
        SslContextFactory.Client tls = new SslContextFactory.Client();
        tls.setTrustStore(io.upstreamproxy.tls.Pem.trustStore(caFile));
        ClientConnector connector = new ClientConnector();
        connector.setSslContextFactory(tls);
        org.eclipse.jetty.client.HttpClient client = new org.eclipse.jetty.client.HttpClient(new HttpClientTransportOverHTTP2(new HTTP2Client(connector)));
        client.start();
        return client;
    }

    @Test
    void speaksHttp2ByAlpnToJettysClient() throws Exception {
        org.eclipse.jetty.client.HttpClient client = http2Client();
        try {
            ContentResponse r = client.GET(https("/h2"));
            assertEquals(HttpVersion.HTTP_2, r.getVersion());
            assertEquals("b1", r.getContentAsString());
            ContentResponse api = client.GET(https("/api/upstreams"));
            assertEquals(200, api.getStatus());
            assertTrue(api.getContentAsString().contains(backend.address()));
        } finally {
            client.stop();
        }
    }

    @Test
    void forwardsAnHttp2BodyThatHasNoContentLength() throws Exception {
        org.eclipse.jetty.client.HttpClient client = http2Client();
        try {
            // A body of unknown length: HTTP/2 sends it in DATA frames with no Content-Length.
            // It is written only after the head went out, so the client cannot count it first.
            org.eclipse.jetty.client.AsyncRequestContent body = new org.eclipse.jetty.client.AsyncRequestContent();
            java.util.concurrent.CompletableFuture<ContentResponse> sent =
                    new org.eclipse.jetty.client.CompletableResponseListener(client.POST(https("/h2-upload")).body(body)).send();
            body.write(java.nio.ByteBuffer.wrap("first, ".getBytes(java.nio.charset.StandardCharsets.UTF_8)), org.eclipse.jetty.util.Callback.NOOP);
            body.flush();
            body.write(java.nio.ByteBuffer.wrap("second".getBytes(java.nio.charset.StandardCharsets.UTF_8)), org.eclipse.jetty.util.Callback.NOOP);
            body.close();
            ContentResponse r = sent.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(HttpVersion.HTTP_2, r.getVersion());
            assertEquals(200, r.getStatus());
            Backend.Seen uploaded = backend.seen.get(backend.seen.size() - 1);
            assertEquals("first, second", uploaded.body());
            assertEquals(null, uploaded.headers().get("content-length"), "the client sent no length: " + uploaded.headers());
            // And a POST whose head ends the stream has no body, and the jar frames none upstream.
            ContentResponse empty = client.POST(https("/h2-empty")).send();
            assertEquals(200, empty.getStatus());
            Backend.Seen seen = backend.seen.get(backend.seen.size() - 1);
            assertEquals("/h2-empty", seen.pathQuery());
            assertEquals("", seen.body());
            if (proxy.coreFrontEnd()) {
                // The servlet cannot tell before reading; it forwards an empty chunked body, which means the same.
                assertEquals(null, seen.headers().get("transfer-encoding"));
            }
        } finally {
            client.stop();
        }
    }

    @Test
    void seedCurlLinesWorkOverHttp2() throws Exception {
        String ca = caFile.toString();
        assertEquals("2 200", Curl.run("--http2", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_version} %{http_code}", https("/")));
        assertTrue(Curl.run("--http2", "--cacert", ca, https("/api/upstreams")).contains(backend.address()));
        assertTrue(Curl.run("--http2", "--cacert", ca, https("/api/upstreams/backend")).contains(backend.address()));
        String patched = Curl.run("--http2", "--cacert", ca, "-X", "PATCH", "-d", "{\"drain\":true}", https("/api/upstreams/backend/servers/0?force=true"));
        assertTrue(patched.contains("\"drain\": true"), patched);
        assertTrue(Curl.run("--http2", "--cacert", ca, "-X", "PATCH", "-d", "{\"drain\":false}", https("/api/upstreams/backend/servers/0")).contains("\"drain\": false"));
        assertEquals("2 200", Curl.run("--http2", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_version} %{http_code}", https("/status/")));
        // h2c on the plain listener where http2 is set: prior knowledge and Upgrade.
        assertEquals("b1 2", Curl.run("--http2-prior-knowledge", "-w", " %{http_version}", http("/")));
        assertEquals("b1 2", Curl.run("--http2", "-w", " %{http_version}", http("/")));
    }

    @Test
    void renewedCertificateIsServedWithoutRestartAndBrokenPairIsIgnored() throws Exception {
        BigInteger first = servedSerial();
        // certbot's way: write the new files beside, then rename over the old ones.
        TestCerts.Issued renewed = ca.issue(KeyFormat.SEC1_EC, "localhost", "127.0.0.1");
        ca.write(renewed, KeyFormat.SEC1_EC, dir.resolve("new.crt"), dir.resolve("new.key"));
        Files.move(dir.resolve("new.key"), key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.move(dir.resolve("new.crt"), cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Http.await("the renewed certificate", Duration.ofSeconds(20), () -> renewed.cert().getSerialNumber().equals(servedSerialUnchecked()));
        assertNotEquals(first, renewed.cert().getSerialNumber());

        // A key that is not the certificate's: logged, the renewed certificate stays.
        ca.write(ca.issue(KeyFormat.PKCS8_EC, "other"), KeyFormat.PKCS8_EC, dir.resolve("x.crt"), key);
        long end = System.nanoTime() + Duration.ofSeconds(1).toNanos(); // ten check intervals
        while (System.nanoTime() < end) {
            assertEquals(renewed.cert().getSerialNumber(), servedSerial());
        }
        assertEquals("b1", Http.get(http("/")).body());
    }

    @Test
    void refusesTls10AndTls11() throws Exception {
        String target = "127.0.0.1:" + proxy.port(1);
        Curl.Result ok = Curl.exec(List.of("openssl", "s_client", "-tls1_2", "-connect", target, "-servername", "localhost"));
        assertTrue(ok.out().contains("Protocol  : TLSv1.2") || ok.out().contains("TLSv1.2"), ok.out());
        for (String old : List.of("-tls1", "-tls1_1")) {
            Curl.Result r = Curl.exec(List.of("openssl", "s_client", old, "-cipher", "DEFAULT:@SECLEVEL=0", "-connect", target));
            assertNotEquals(0, r.code(), old + " handshake must fail: " + r.out());
            assertFalse(r.out().contains("BEGIN CERTIFICATE") || r.out().contains("Server certificate"), old + " got a certificate: " + r.out());
        }
    }

    @Test
    void plainHttpToTheTlsPortIsAnsweredOrClosedCleanly() throws Exception {
        try (Socket s = new Socket("127.0.0.1", proxy.port(1))) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    got.write(buf, 0, n);
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the connection was neither answered nor closed");
            } catch (java.net.SocketException e) {
                // reset: closed
            }
            String answer = got.toString(StandardCharsets.ISO_8859_1);
            assertTrue(answer.isEmpty() || answer.startsWith("HTTP/1.1 400") || answer.charAt(0) == 0x15, "answer: " + answer);
            assertFalse(answer.contains("b1"));
        }
        assertEquals("b1", Http.get(http("/")).body());
    }

    private BigInteger servedSerialUnchecked() {
        try {
            return servedSerial();
        } catch (Exception e) {
            return null;
        }
    }

    private BigInteger servedSerial() throws Exception {
        try (SSLSocket s = (SSLSocket) ca.clientContext().getSocketFactory().createSocket("127.0.0.1", proxy.port(1))) {
            s.setSoTimeout(5000);
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }
}
