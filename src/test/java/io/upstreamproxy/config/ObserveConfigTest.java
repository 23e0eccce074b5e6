package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code metrics}, {@code access_log} and {@code log} keys: defaults, values, and one clear error each. */
class ObserveConfigTest {
    private static ProxyConfig parse(String json) {
        return ConfigLoader.parse(("{'upstreams': {'b': {'servers': [{'server': '127.0.0.1:9001'}]}}" + json + "}").replace('\'', '"'),
                Path.of("/etc/upstream-proxy/proxy.json"));
    }

    private static String error(String json) {
        return assertThrows(ConfigException.class, () -> parse(json)).getMessage();
    }

    @Test
    void defaultsToLoopbackMetricsDefaultAccessLogOnStderrAndNoLevel() {
        ProxyConfig.Observe o = parse("").observe();
        assertEquals("/metrics", o.metrics().path());
        assertEquals(List.of(Cidr.parse("127.0.0.1"), Cidr.parse("::1")), o.metrics().allow());
        assertEquals(List.of(Cidr.parse("all")), o.metrics().deny());
        assertEquals("default", o.accessLog().format());
        assertNull(o.accessLog().file());
        assertNull(o.logLevel());
    }

    @Test
    void readsEveryKey() {
        ProxyConfig.Observe o = parse(", 'metrics': {'path': '/prom', 'allow': ['10.0.0.0/8']}, "
                + "'access_log': {'format': 'json', 'file': 'logs/access.log'}, 'log': {'level': 'DEBUG'}").observe();
        assertEquals("/prom", o.metrics().path());
        assertEquals(List.of(Cidr.parse("10.0.0.0/8")), o.metrics().allow());
        assertEquals(List.of(), o.metrics().deny(), "given rules replace the defaults, as for api");
        assertEquals("json", o.accessLog().format());
        assertEquals(Path.of("/etc/upstream-proxy/logs/access.log"), o.accessLog().file(), "relative to the config file");
        assertEquals("debug", o.logLevel());
    }

    @Test
    void refusesBadValuesNamingThem() {
        assertEquals("metrics.path: \"metrics\" (expected: a path such as \"/metrics\", no trailing /)", error(", 'metrics': {'path': 'metrics'}"));
        assertEquals("metrics.allow[0]: \"nowhere\" (expected: an IP address, a CIDR block such as 10.0.0.0/8 or fd00::/8, or all)",
                error(", 'metrics': {'allow': ['nowhere']}"));
        assertEquals("access_log.format: \"apache\" (expected one of: default, combined, json)", error(", 'access_log': {'format': 'apache'}"));
        assertEquals("log.level: \"loud\" (expected one of: trace, debug, info, warn, error, off)", error(", 'log': {'level': 'loud'}"));
        assertEquals("metrics.token: unknown key (expected one of: path, allow, deny)", error(", 'metrics': {'token': 'x'}"));
    }
}
