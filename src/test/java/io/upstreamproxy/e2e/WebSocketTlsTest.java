package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.testing.TestCerts;
import io.upstreamproxy.testing.TestCerts.KeyFormat;
import io.upstreamproxy.testing.WsBackend;
import io.upstreamproxy.testing.WsClient;
import io.upstreamproxy.tls.Pem;
import java.nio.file.Path;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** wss:// to our TLS listener, relayed to a WebSocket server over TLS (SNI and name from server_name). */
class WebSocketTlsTest {
    @TempDir Path dir;

    @Test
    void relaysWssToAWebSocketServerOverTls() throws Exception {
        TestCerts ca = TestCerts.newCa("WebSocket CA");
        Path caFile = ca.writeCa(dir.resolve("ca.pem"));
        ca.write(ca.issue(KeyFormat.PKCS8_EC, "localhost", "127.0.0.1"), KeyFormat.PKCS8_EC, dir.resolve("site.crt"), dir.resolve("site.key"));
        try (WsBackend backend = WsBackend.startTls("secure", ca, ca.issue(KeyFormat.PKCS8_EC, "ws.internal"));
             RunningProxy proxy = RunningProxy.start("""
                     { "listen": { "host": "127.0.0.1", "port": 0, "tls": { "cert": "site.crt", "key": "site.key" } },
                       "upstreams": { "ws": { "tls": { "ca": "ca.pem", "server_name": "ws.internal" },
                                              "servers": [ { "server": "%s" } ] } } }
                     """.formatted(backend.address()), dir.resolve("proxy.json"))) {
            SslContextFactory.Client trust = new SslContextFactory.Client();
            trust.setTrustStore(Pem.trustStore(caFile));
            try (WsClient ws = WsClient.connect("wss://127.0.0.1:" + proxy.port() + "/ws", trust)) {
                assertEquals("secure:over tls", ws.ask("over tls"));
            }
        }
    }
}
