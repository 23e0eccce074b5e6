package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.testing.TestCerts;
import io.upstreamproxy.testing.TestCerts.KeyFormat;
import io.upstreamproxy.testing.TlsBackend;
import io.upstreamproxy.upstream.Server;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Upstreams over TLS: trust from {@code ca}, SNI and verified name from {@code server_name}, mTLS, reasons for failures. */
class UpstreamTlsTest {
    static TestCerts ca;
    static TlsBackend api;
    static TlsBackend mtls;
    @TempDir static Path dir;

    @BeforeAll
    static void start() throws Exception {
        ca = TestCerts.newCa("Upstream CA");
        ca.writeCa(dir.resolve("ca.pem"));
        ca.write(ca.issue(KeyFormat.PKCS8_EC, "proxy-client"), KeyFormat.PKCS8_EC, dir.resolve("client.crt"), dir.resolve("client.key"));
        api = new TlsBackend("api", ca, ca.issue(KeyFormat.PKCS8_EC, "api.internal"), null);
        mtls = new TlsBackend("mtls", ca, ca.issue(KeyFormat.PKCS8_EC, "api.internal"), ca);
    }

    @AfterAll
    static void stop() throws Exception {
        api.close();
        mtls.close();
    }

    /**
     * The check records its reason but never takes the server out ({@code fails} 1000): a
     * request then meets the TLS failure itself (502), whichever runs first on a loaded machine
     * (with one failed check enough, a check that ran first made it 503 NoEligibleServer).
     */
    private static RunningProxy proxy(TlsBackend backend, String tls) throws Exception {
        String json = """
                { "upstreams": { "api": { "tls": %s, "retries": 0,
                    "servers": [ { "server": "%s", "max_fails": 0 } ],
                    "health_check": { "type": "http", "uri": "/health", "interval": "200ms", "timeout": "2s", "fails": 1000 } } } }
                """.formatted(tls, backend.address());
        return RunningProxy.start(json, dir.resolve("proxy.json"));
    }

    private static Server server(RunningProxy p) {
        return p.registry().get("api").servers().get(0);
    }

    @Test
    void sendsServerNameAsSniAndVerifiesTheCertificateAgainstIt() throws Exception {
        try (RunningProxy p = proxy(api, "{ \"ca\": \"ca.pem\", \"server_name\": \"api.internal\" }")) {
            HttpResponse<String> r = p.get("/x");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("api", r.body());
            assertTrue(api.sni.contains("api.internal"), "SNI seen at the backend: " + api.sni);
            Http.await("a passed health check over TLS", Duration.ofSeconds(10), () -> server(p).healthChecks().lastPassedMillis() > 0);
        }
    }

    @Test
    void untrustedCertificateIsAConnectFailureWithItsReason() throws Exception {
        try (RunningProxy p = proxy(api, "{ \"server_name\": \"api.internal\" }")) { // system trust store: our test CA is not in it
            // Every answer names the handshake, never the socket closing that follows it (which
            // came first now and then, and made the reason "connection closed").
            for (int i = 0; i < 20; i++) {
                var r = p.get("/x" + i);
                assertEquals(502, r.statusCode());
                assertTrue(r.body().contains("TLS to the server failed: certificate not trusted"), r.body());
            }
            assertTrue(server(p).stats().fails() >= 1);
            Http.await("the health check's reason", Duration.ofSeconds(10), () -> "certificate not trusted".equals(server(p).healthChecks().lastFailure()));
            assertTrue(p.get("/api/upstreams/api").body().contains("\"last_fail_reason\": \"certificate not trusted\""));
        }
    }

    @Test
    void nameMismatchIsAConnectFailureWithItsReason() throws Exception {
        try (RunningProxy p = proxy(api, "{ \"ca\": \"ca.pem\", \"server_name\": \"other.internal\" }")) {
            assertEquals(502, p.get("/x").statusCode());
            Http.await("the health check's reason", Duration.ofSeconds(10), () -> "name mismatch".equals(server(p).healthChecks().lastFailure()));
        }
    }

    @Test
    void verifyFalseTrustsAnyCertificate() throws Exception {
        try (RunningProxy p = proxy(api, "{ \"verify\": false }")) {
            assertEquals("api", p.get("/x").body());
        }
    }

    @Test
    void presentsTheClientCertificateForMutualTls() throws Exception {
        try (RunningProxy p = proxy(mtls, "{ \"ca\": \"ca.pem\", \"server_name\": \"api.internal\", \"cert\": \"client.crt\", \"key\": \"client.key\" }")) {
            assertEquals("mtls", p.get("/x").body());
        }
        try (RunningProxy p = proxy(mtls, "{ \"ca\": \"ca.pem\", \"server_name\": \"api.internal\" }")) {
            assertEquals(502, p.get("/x").statusCode(), "without a client certificate the backend refuses the handshake");
        }
    }
}
