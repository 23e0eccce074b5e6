package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The §14 keys: {@code shutdown}, {@code listen.proxy_protocol}, {@code listen.reuse_port}, {@code send_proxy_protocol}. */
class RestartConfigTest {
    private static ProxyConfig parse(String listen, String upstream, String rest) {
        return ConfigLoader.parse(("{" + listen + "'upstreams': {'b': {'servers': [{'server': '127.0.0.1:9001'}]" + upstream + "}}" + rest + "}")
                .replace('\'', '"'), Path.of("/etc/upstream-proxy/proxy.json"));
    }

    private static String error(String listen, String upstream, String rest) {
        return assertThrows(ConfigException.class, () -> parse(listen, upstream, rest)).getMessage();
    }

    @Test
    void defaultsToNoDelayThirtySecondsNoProxyProtocolNoReusePort() {
        ProxyConfig c = parse("", "", "");
        assertEquals(new ProxyConfig.Shutdown(Duration.ZERO, Duration.ofSeconds(30), Duration.ofSeconds(1)), c.shutdown());
        assertNull(c.listen().proxyProtocol());
        assertFalse(c.listen().reusePort());
        assertNull(c.upstreams().get("b").sendProxyProtocol());
    }

    @Test
    void readsEveryKey() {
        ProxyConfig c = parse("'listen': {'port': 80, 'reuse_port': true, 'proxy_protocol': {'trusted': ['10.0.0.0/8', '::1']}}, ",
                ", 'send_proxy_protocol': 'v2'", ", 'shutdown': {'delay': '5s', 'timeout': '1m', 'idle_timeout': '3s'}");
        assertEquals(new ProxyConfig.Shutdown(Duration.ofSeconds(5), Duration.ofMinutes(1), Duration.ofSeconds(3)), c.shutdown());
        assertEquals(List.of(Cidr.parse("10.0.0.0/8"), Cidr.parse("::1")), c.listen().proxyProtocol().trusted());
        assertTrue(c.listen().reusePort());
        assertEquals("v2", c.upstreams().get("b").sendProxyProtocol());
    }

    @Test
    void namesTheBadEntryOfEachKey() {
        assertEquals("listen.proxy_protocol.trusted[1]: \"10.0.0/8\" (expected: an IP address, a CIDR block such as 10.0.0.0/8 or fd00::/8, or all)",
                error("'listen': {'proxy_protocol': {'trusted': ['::1', '10.0.0/8']}}, ", "", ""));
        assertEquals("listen.proxy_protocol.trusted: [] (expected: at least one address or CIDR block)",
                error("'listen': {'proxy_protocol': {'trusted': []}}, ", "", ""));
        assertEquals("listen.proxy_protocol.trusted: missing (expected: the addresses or CIDR blocks of the balancers that send the header)",
                error("'listen': {'proxy_protocol': {}}, ", "", ""));
        assertEquals("upstreams.b.send_proxy_protocol: \"v3\" (expected: \"v1\" or \"v2\")", error("", ", 'send_proxy_protocol': 'v3'", ""));
        assertTrue(error("", "", ", 'shutdown': {'timeout': 'soon'}").startsWith("shutdown.timeout: \"soon\" (expected: a duration"));
        assertTrue(error("", "", ", 'shutdown': {'grace': '1s'}").startsWith("shutdown.grace"));
    }
}
