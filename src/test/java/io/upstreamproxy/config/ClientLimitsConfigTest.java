package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The proxy's client-side limits: defaults as nginx's, sizes and durations nginx-style, one-line errors. */
class ClientLimitsConfigTest {
    private static final String UPSTREAMS = "'upstreams': {'b': {'servers': [{'server': '127.0.0.1:9001'}]}}";

    private static ProxyConfig.Proxy parse(String proxy) {
        String json = ("{" + UPSTREAMS + (proxy == null ? "" : ", 'proxy': {" + proxy + "}") + "}").replace('\'', '"');
        return ConfigLoader.parse(json, Path.of("/etc/up/proxy.json")).proxy();
    }

    private static String error(String proxy) {
        return assertThrows(ConfigException.class, () -> parse(proxy)).getMessage();
    }

    @Test
    void defaultsFollowNginx() {
        for (ProxyConfig.Proxy p : new ProxyConfig.Proxy[] {parse(null), parse("")}) {
            assertEquals(8192, p.maxHeaderBytes());
            assertEquals(Duration.ofSeconds(60), p.clientHeaderTimeout());
            assertEquals(Duration.ofSeconds(60), p.clientBodyTimeout());
            assertEquals(0, p.maxBodyBytes(), "0: unlimited");
            assertEquals(511, p.backlog());
        }
    }

    @Test
    void readsEveryKey() {
        ProxyConfig.Proxy p = parse("'max_header_size': '16k', 'client_header_timeout': '20s', 'client_body_timeout': '500ms', "
                + "'max_body_size': '4g', 'backlog': 1024");
        assertEquals(16384, p.maxHeaderBytes());
        assertEquals(Duration.ofSeconds(20), p.clientHeaderTimeout());
        assertEquals(Duration.ofMillis(500), p.clientBodyTimeout());
        assertEquals(4L << 30, p.maxBodyBytes());
        assertEquals(1024, p.backlog());
    }

    @Test
    void badValuesNameTheKeyAndTheRange() {
        assertEquals("proxy.max_header_size: \"512\" (expected: a size 1024..65536 bytes, such as \"16k\" or \"1m\")", error("'max_header_size': '512'"));
        assertEquals("proxy.max_body_size: -1 (expected: a size 0..1099511627776 bytes, such as \"16k\" or \"1m\")", error("'max_body_size': -1"));
        assertEquals("proxy.backlog: 0 (expected: 1..65535)", error("'backlog': 0"));
        assertEquals("proxy.client_body_timeout: \"soon\" (expected: a duration 1ms..1h such as \"500ms\", \"10s\", \"1m\")", error("'client_body_timeout': 'soon'"));
    }
}
