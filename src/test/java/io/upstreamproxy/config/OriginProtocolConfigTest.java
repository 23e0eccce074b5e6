package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** An upstream's {@code protocol} and {@code max_concurrent_streams}. */
class OriginProtocolConfigTest {
    private static ProxyConfig.UpstreamConfig parse(String upstream) {
        return ConfigLoader.parse(("{'upstreams': {'b': {'servers': [{'server': '127.0.0.1:9001'}]" + upstream + "}}}")
                .replace('\'', '"'), Path.of("/etc/upstream-proxy/proxy.json")).upstreams().get("b");
    }

    private static String error(String upstream) {
        return assertThrows(ConfigException.class, () -> parse(upstream)).getMessage();
    }

    @Test
    void defaultsToHttp11WithAHundredStreams() {
        OriginProtocol p = parse("").protocol();
        assertEquals(OriginProtocol.DEFAULT, p);
        assertFalse(p.multiplexed());
    }

    @Test
    void readsH2cAndItsStreamLimit() {
        OriginProtocol p = parse(", 'protocol': 'h2c', 'max_concurrent_streams': 8").protocol();
        assertEquals(new OriginProtocol("h2c", 8), p);
        assertTrue(p.multiplexed());
    }

    @Test
    void namesTheUpstreamAndKeyOfEachMistake() {
        assertEquals("upstreams.b.protocol: \"http2\" (expected: \"http/1.1\", \"h2c\" or \"h2\")", error(", 'protocol': 'http2'"));
        assertTrue(error(", 'protocol': 'h2c', 'max_concurrent_streams': 0").startsWith("upstreams.b.max_concurrent_streams: 0"));
        assertTrue(error(", 'protocol': 'h2c', 'send_proxy_protocol': 'v1'").startsWith("upstreams.b.send_proxy_protocol: \"v1\" (expected: none with protocol \"h2c\""));
        assertEquals("upstreams.b.protocol: \"h2\" (expected: a \"tls\" block with it; \"h2c\" is HTTP/2 in clear text)", error(", 'protocol': 'h2'"));
        assertEquals("upstreams.b.protocol: \"h2c\" (expected: \"h2\" with a \"tls\" block; h2c is clear text)",
                error(", 'protocol': 'h2c', 'tls': {'verify': false}"));
    }
}
