package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Curl;
import io.upstreamproxy.testing.TestCerts;
import io.upstreamproxy.testing.TestCerts.KeyFormat;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A TLS listener with several certificates chosen by the client's SNI name, the first for any other name (SPEC §12). */
class SniListenerTest {
    @TempDir Path dir;
    TestCerts ca;
    Backend backend;
    Main proxy;

    @BeforeEach
    void start() throws Exception {
        ca = TestCerts.newCa("SNI CA");
        backend = Backend.start("b");
        ca.write(ca.issue(KeyFormat.PKCS8_RSA, "a.example", "127.0.0.1"), KeyFormat.PKCS8_RSA, dir.resolve("a.crt"), dir.resolve("a.key"));
        ca.write(ca.issue(KeyFormat.PKCS8_RSA, "b.example"), KeyFormat.PKCS8_RSA, dir.resolve("b.crt"), dir.resolve("b.key"));
        ca.write(ca.issue(KeyFormat.PKCS8_RSA, "*.c.example"), KeyFormat.PKCS8_RSA, dir.resolve("c.crt"), dir.resolve("c.key"));
        String json = """
                { "listen": { "host": "127.0.0.1", "port": 0, "tls": { "certificates": [
                      { "cert": "a.crt", "key": "a.key" }, { "cert": "b.crt", "key": "b.key" }, { "cert": "c.crt", "key": "c.key" } ] } },
                  "upstreams": { "app": { "servers": [ { "server": "%s" } ] } },
                  "routes": [ { "host": "b.example", "return": { "status": 200, "body": "b-site" } }, { "path": "/", "upstream": "app" } ] }
                """.formatted(backend.address());
        proxy = Main.start(ConfigLoader.parse(json, dir.resolve("proxy.json")), false, false);
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.stop();
        }
        backend.close();
    }

    /** The name of the certificate the listener presents to a client that sends {@code sni} (null: none). */
    private String served(String sni) throws Exception {
        try (SSLSocket s = (SSLSocket) ca.clientContext().getSocketFactory().createSocket("127.0.0.1", proxy.port())) {
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
            s.setSSLParameters(p);
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        }
    }

    @Test
    void eachNameGetsItsCertificateAndOthersTheFirst() throws Exception {
        assertEquals("CN=b.example", served("b.example"));
        assertEquals("CN=*.c.example", served("www.c.example"));
        assertEquals("CN=a.example", served("a.example"));
        assertEquals("CN=a.example", served("unknown.example"), "a name no certificate covers gets the first");
        assertEquals("CN=a.example", served(null), "no name at all gets the first");
    }

    @Test
    void opensslSeesTheCertificateOfTheNameItSends() throws Exception {
        Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + proxy.port(), "-servername", "b.example")
                .redirectErrorStream(true).start();
        p.getOutputStream().close(); // s_client ends when its input does
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.matches("(?s).*subject=\\s*/?CN\\s*=\\s*b\\.example.*"), text);
    }

    /** HTTP/2 has no Host header: the route's host condition reads :authority (curl checks b.example's certificate too). */
    @Test
    void anHttp2RequestIsRoutedByItsAuthority() throws Exception {
        String caFile = ca.writeCa(dir.resolve("ca.pem")).toString();
        String resolve = "b.example:" + proxy.port() + ":127.0.0.1";
        assertEquals("b-site 2", Curl.run("--http2", "--cacert", caFile, "--resolve", resolve, "-w", " %{http_version}",
                "https://b.example:" + proxy.port() + "/x"));
        assertEquals("b 2", Curl.run("--http2", "--cacert", caFile, "-w", " %{http_version}", "https://127.0.0.1:" + proxy.port() + "/x"));
    }

    @Test
    void certificatesAndCertAreNotGivenTogether() {
        String json = """
                { "listen": { "port": 0, "tls": { "cert": "a.crt", "certificates": [ { "cert": "a.crt", "key": "a.key" } ] } },
                  "upstreams": { "app": {} } }
                """;
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ConfigLoader.parse(json, dir.resolve("proxy.json")));
        assertEquals("listen.tls.cert: given with certificates (expected: one of them)", e.getMessage());
        ProxyConfig.ListenTls tls = ConfigLoader.parse("""
                { "listen": { "port": 0, "tls": { "certificates": [ { "cert": "a.crt", "key": "a.key" }, { "cert": "b.crt", "key": "b.key" } ] } },
                  "upstreams": { "app": {} } }
                """, dir.resolve("proxy.json")).listen().tls();
        assertEquals(dir.resolve("a.crt"), tls.cert());
        assertEquals(2, tls.certificates().size());
    }
}
