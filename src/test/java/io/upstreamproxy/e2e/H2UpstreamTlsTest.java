package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.H2cBackend;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.testing.TestCerts;
import io.upstreamproxy.testing.TestCerts.KeyFormat;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code "protocol": "h2"}: HTTP/2 over TLS to servers, agreed by ALPN, with the upstream's {@code tls} block. */
class H2UpstreamTlsTest {
    @TempDir
    Path dir;
    private H2cBackend backend;
    private RunningProxy proxy;

    @AfterEach
    void closeAll() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private RunningProxy proxy(String tls) throws Exception {
        proxy = RunningProxy.start(("{'upstreams': {'web': {'protocol': 'h2', 'tls': " + tls + ", 'retries': 0,"
                + " 'servers': [{'server': '" + backend.address() + "'}]}}}").replace('\'', '"'), dir.resolve("proxy.json"));
        return proxy;
    }

    /** A backend whose certificate names {@code certName}, and the proxy expecting api.internal from the same CA. */
    private RunningProxy backendFor(String certName) throws Exception {
        TestCerts ca = TestCerts.newCa("Upstream CA");
        ca.writeCa(dir.resolve("ca.pem"));
        backend = H2cBackend.startTls("b1", ca, ca.issue(KeyFormat.PKCS8_EC, certName));
        return proxy("{'ca': 'ca.pem', 'server_name': 'api.internal'}");
    }

    @Test
    void requestsGoAsHttp2OverVerifiedTls() throws Exception {
        RunningProxy p = backendFor("api.internal");
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = p.get("/tls" + i);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("b1 GET /tls" + i + " 0 HTTP/2.0 secure", r.body());
        }
        assertEquals(1, backend.connections(), "the requests shared one connection");
    }

    @Test
    void aCertificateForAnotherNameIsAConnectFailure() throws Exception {
        RunningProxy p = backendFor("other.internal");
        HttpResponse<String> r = p.get("/x");
        assertEquals(502, r.statusCode(), r.body());
        assertTrue(r.body().contains("TLS"), r.body());
    }
}
