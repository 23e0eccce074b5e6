package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.TestCerts;
import io.upstreamproxy.testing.TestCerts.KeyFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ListenConfigTest {
    static TestCerts ca;
    @TempDir Path dir;
    Path source;

    @BeforeAll
    static void makeCa() throws Exception {
        ca = TestCerts.newCa("Config CA");
    }

    @BeforeEach
    void files() throws Exception {
        source = dir.resolve("proxy.json");
        ca.write(ca.issue(KeyFormat.PKCS8_EC, "site.test"), KeyFormat.PKCS8_EC, dir.resolve("site.crt"), dir.resolve("site.key"));
        ca.write(ca.issue(KeyFormat.PKCS8_EC, "other.test"), KeyFormat.PKCS8_EC, dir.resolve("other.crt"), dir.resolve("other.key"));
        ca.writeCa(dir.resolve("ca.pem"));
        Files.writeString(dir.resolve("junk.pem"), "not pem\n");
    }

    private ProxyConfig parse(String json) {
        return ConfigLoader.parse(json.replace('\'', '"'), source);
    }

    private String error(String json) {
        return assertThrows(ConfigException.class, () -> parse(json)).getMessage();
    }

    @Test
    void listenIsOneObjectOrAnArray() {
        ProxyConfig one = parse("{'listen': {'port': 81}, 'upstreams': {'b': {}}}");
        assertEquals(1, one.listeners().size());
        assertFalse(one.listen().http2());
        ProxyConfig two = parse("{'listen': [{'port': 80}, {'port': 443, 'tls': {'cert': 'site.crt', 'key': 'site.key'}}], 'upstreams': {'b': {}}}");
        assertEquals(2, two.listeners().size());
        ProxyConfig.Listen tls = two.listeners().get(1);
        assertEquals(dir.resolve("site.crt"), tls.tls().cert());
        assertEquals(Duration.ofSeconds(30), tls.tls().checkInterval());
        assertTrue(tls.http2());
        assertNull(two.listeners().get(0).tls());
        ProxyConfig moved = two.withPort(8081);
        assertEquals(8081, moved.listen().port());
        assertEquals(443, moved.listeners().get(1).port());
        assertEquals(Duration.ofHours(1), two.proxy().websocketIdleTimeout());
        assertEquals(Duration.ofSeconds(4), two.proxy().upstreamIdleTimeout(), "below the 5 s keep-alive common in application servers");
        assertEquals(Duration.ofMillis(1500), parse("{'proxy': {'upstream_idle_timeout': '1500ms'}, 'upstreams': {'b': {}}}").proxy().upstreamIdleTimeout());
        assertEquals("proxy.upstream_idle_timeout: \"2h\" (expected: a duration 1ms..1h such as \"500ms\", \"10s\", \"1m\")",
                error("{'proxy': {'upstream_idle_timeout': '2h'}, 'upstreams': {'b': {}}}"));
    }

    @Test
    void badListenersNameKeyAndFile() {
        assertEquals("listen: 5 (expected: an object or an array of objects)", error("{'listen': 5, 'upstreams': {'b': {}}}"));
        assertEquals("listen: [] (expected: at least one listener)", error("{'listen': [], 'upstreams': {'b': {}}}"));
        assertEquals("listen[1].port: 80 (expected: each host and port once)", error("{'listen': [{'port': 80}, {'port': 80}], 'upstreams': {'b': {}}}"));
        assertEquals("listen[0].tls.key: missing (expected: a PEM private key file)",
                error("{'listen': [{'tls': {'cert': 'site.crt'}}], 'upstreams': {'b': {}}}"));
        assertEquals("listen.tls.cert: " + dir.resolve("gone.crt") + ": no such file",
                error("{'listen': {'tls': {'cert': 'gone.crt', 'key': 'site.key'}}, 'upstreams': {'b': {}}}"));
        assertEquals("listen.tls.cert: " + dir.resolve("junk.pem") + ": no PEM certificate in it (expected: -----BEGIN CERTIFICATE-----)",
                error("{'listen': {'tls': {'cert': 'junk.pem', 'key': 'site.key'}}, 'upstreams': {'b': {}}}"));
        assertEquals("listen.tls.key: " + dir.resolve("other.key") + ": not the private key of the certificate in " + dir.resolve("site.crt"),
                error("{'listen': {'tls': {'cert': 'site.crt', 'key': 'other.key'}}, 'upstreams': {'b': {}}}"));
        assertTrue(error("{'listen': {'tls': {'cert': 'site.crt', 'key': 'site.key', 'ciphers': 'x'}}, 'upstreams': {'b': {}}}")
                .startsWith("listen.tls.ciphers: unknown key"));
    }

    @Test
    void expiredCertificateIsAWarningNotAnError() throws Exception {
        java.time.Instant now = java.time.Instant.now();
        TestCerts.Issued old = ca.issue(KeyFormat.PKCS8_EC, now.minus(Duration.ofDays(100)), now.minus(Duration.ofDays(10)), "old.test");
        ca.write(old, KeyFormat.PKCS8_EC, dir.resolve("old.crt"), dir.resolve("old.key"));
        ProxyConfig c = parse("{'listen': {'tls': {'cert': 'old.crt', 'key': 'old.key'}}, 'upstreams': {'b': {}}}");
        assertEquals(dir.resolve("old.crt"), c.listen().tls().cert());
        String warning = io.upstreamproxy.listen.Connectors.validityProblem(old.cert(), new java.util.Date());
        assertTrue(warning.startsWith("the certificate expired on "), warning);
        assertNull(io.upstreamproxy.listen.Connectors.validityProblem(ca.issue(KeyFormat.PKCS8_EC, "new.test").cert(), new java.util.Date()));
    }

    @Test
    void upstreamTlsIsCheckedWhereItIsRead() {
        ProxyConfig c = parse("{'upstreams': {'b': {'tls': {'ca': 'ca.pem', 'server_name': 'api.internal', 'cert': 'site.crt', 'key': 'site.key'}}}}");
        ProxyConfig.UpstreamTls tls = c.upstreams().get("b").tls();
        assertTrue(tls.verify());
        assertEquals("api.internal", tls.serverName());
        assertEquals(dir.resolve("ca.pem"), tls.ca());
        assertNull(parse("{'upstreams': {'b': {}}}").upstreams().get("b").tls());
        assertEquals("upstreams.b.tls.key: missing (expected: cert and key together, for a client certificate)",
                error("{'upstreams': {'b': {'tls': {'cert': 'site.crt'}}}}"));
        assertEquals("upstreams.b.tls.ca: " + dir.resolve("junk.pem") + ": no PEM certificate in it (expected: -----BEGIN CERTIFICATE-----)",
                error("{'upstreams': {'b': {'tls': {'ca': 'junk.pem'}}}}"));
        assertEquals("upstreams.b.tls.server_name: \"a b\" (expected: a host name such as \"api.internal\")",
                error("{'upstreams': {'b': {'tls': {'server_name': 'a b'}}}}"));
        assertEquals("upstreams.b.tls.verify: \"no\" (expected: true or false)",
                error("{'upstreams': {'b': {'tls': {'verify': 'no'}}}}"));
    }
}
