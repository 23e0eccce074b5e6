package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code sticky} and {@code outlier_detection}: defaults, every key, and errors that name the key. */
class AffinityConfigTest {
    private static ProxyConfig.UpstreamConfig parse(String keys) {
        String json = ("{'upstreams': {'app': {" + keys + ", 'servers': [{'server': '127.0.0.1:9001'}]}}}").replace('\'', '"');
        return ConfigLoader.parse(json, null).upstreams().get("app");
    }

    private static String error(String keys) {
        return assertThrows(ConfigException.class, () -> parse(keys)).getMessage();
    }

    @Test
    void cookieModeDefaultsAndEveryKey() {
        StickyConfig d = parse("'sticky': {'cookie': 'srv_id'}").sticky();
        assertEquals("srv_id", d.cookie());
        assertEquals("/", d.path());
        assertNull(d.expires(), "a session cookie");
        assertTrue(d.httpOnly());
        StickyConfig s = parse("'sticky': {'cookie': 'srv_id', 'expires': '1h', 'path': '/app', 'domain': 'example.com', "
                + "'secure': true, 'httponly': false, 'samesite': 'Strict'}").sticky();
        assertEquals(new StickyConfig("srv_id", Duration.ofHours(1), "/app", "example.com", true, false, "Strict", null, null, 0), s);
    }

    @Test
    void learnModeDefaultsAndEveryKey() {
        StickyConfig d = parse("'sticky': {'learn': 'JSESSIONID'}").sticky();
        assertEquals(Duration.ofHours(1), d.timeout());
        assertEquals(100_000, d.maxEntries());
        StickyConfig s = parse("'sticky': {'learn': 'JSESSIONID', 'timeout': '30m', 'max_entries': 500}").sticky();
        assertEquals(Duration.ofMinutes(30), s.timeout());
        assertEquals(500, s.maxEntries());
    }

    @Test
    void stickyErrorsNameTheKey() {
        assertEquals("upstreams.app.sticky.learn: set together with cookie (expected: either \"cookie\": \"NAME\" or \"learn\": \"NAME\")",
                error("'sticky': {'cookie': 'a', 'learn': 'b'}"));
        assertTrue(error("'sticky': {}").startsWith("upstreams.app.sticky.cookie: missing"));
        assertTrue(error("'sticky': {'cookie': 'a b'}").startsWith("upstreams.app.sticky.cookie: \"a b\" (expected: a cookie name"));
        assertTrue(error("'sticky': {'cookie': 'a', 'samesite': 'lax'}").startsWith("upstreams.app.sticky.samesite: \"lax\""));
        assertTrue(error("'sticky': {'cookie': 'a', 'samesite': 'None'}").startsWith("upstreams.app.sticky.samesite: \"None\" without"));
        assertTrue(error("'sticky': {'cookie': 'a', 'path': '/a;b'}").startsWith("upstreams.app.sticky.path:"));
        assertTrue(error("'sticky': {'cookie': 'a', 'timeout': '1h'}").startsWith("upstreams.app.sticky.timeout: unknown key"),
                "a learn key in cookie mode");
        assertTrue(error("'sticky': {'learn': 'a', 'expires': '1h'}").startsWith("upstreams.app.sticky.expires: unknown key"));
        assertTrue(error("'sticky': {'learn': 'a', 'max_entries': 0}").startsWith("upstreams.app.sticky.max_entries: 0 (expected: 1..10000000)"));
    }

    @Test
    void outlierDetectionDefaultsAndEveryKey() {
        OutlierConfig d = parse("'outlier_detection': {}").outlierDetection();
        assertEquals(new OutlierConfig(5, List.of(502, 503, 504), Duration.ofSeconds(10), Duration.ofSeconds(30), 50), d);
        OutlierConfig o = parse("'outlier_detection': {'consecutive_errors': 3, 'statuses': [500, 503], 'interval': '5s', "
                + "'base_ejection_time': '1m', 'max_ejection_percent': 25}").outlierDetection();
        assertEquals(new OutlierConfig(3, List.of(500, 503), Duration.ofSeconds(5), Duration.ofMinutes(1), 25), o);
        assertNull(parse("'retries': 1").outlierDetection());
        assertNull(parse("'retries': 1").sticky());
    }

    @Test
    void outlierDetectionErrorsNameTheKey() {
        assertEquals("upstreams.app.outlier_detection.consecutive_errors: 0 (expected: 1..1000)",
                error("'outlier_detection': {'consecutive_errors': 0}"));
        assertEquals("upstreams.app.outlier_detection.statuses[1]: 200 (expected: a status code 400..599)",
                error("'outlier_detection': {'statuses': [503, 200]}"));
        assertTrue(error("'outlier_detection': {'statuses': 503}").startsWith("upstreams.app.outlier_detection.statuses: 503 (expected: an array"));
        assertEquals("upstreams.app.outlier_detection.max_ejection_percent: 101 (expected: 0..100)",
                error("'outlier_detection': {'max_ejection_percent': 101}"));
        assertTrue(error("'outlier_detection': {'interval': 'soon'}").startsWith("upstreams.app.outlier_detection.interval: \"soon\""));
        assertTrue(error("'outlier_detection': {'consecutive_5xx': 3}").startsWith("upstreams.app.outlier_detection.consecutive_5xx: unknown key"));
    }
}
