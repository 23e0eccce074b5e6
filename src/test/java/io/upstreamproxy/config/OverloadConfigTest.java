package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An upstream's queue, limits and retry policy as the config file gives them (SPEC §13). */
class OverloadConfigTest {
    private static OverloadConfig overload(String keys) {
        String json = "{'upstreams': {'app': {" + keys + (keys.isEmpty() ? "" : ", ") + "'servers': [{'server': '127.0.0.1:9001'}]}}}";
        return ConfigLoader.parse(json.replace('\'', '"'), null).upstreams().get("app").overload();
    }

    private static String error(String keys) {
        return assertThrows(ConfigException.class, () -> overload(keys)).getMessage();
    }

    @Test
    void withoutTheKeysNothingChanges() {
        OverloadConfig o = overload("");
        assertNull(o.queue());
        assertEquals(0, o.maxRequests());
        assertEquals(List.of("connect", "timeout", "reset"), o.retryOn(), "what the proxy always retried");
        assertNull(o.retryTimeout());
        assertNull(o.retryBudget());
    }

    @Test
    void readsEveryKey() {
        OverloadConfig o = overload("'queue': {'size': 5, 'timeout': '1s'}, 'max_requests': 50, 'max_pending': 3, "
                + "'retry_on': ['connect', '503'], 'retry_timeout': '2s', 'retry_budget': {'percent': 10, 'min_per_second': 1}");
        assertEquals(new OverloadConfig.Queue(5, Duration.ofSeconds(1)), o.queue());
        assertEquals(50, o.maxRequests());
        assertEquals(3, o.maxPending());
        assertTrue(o.retriesStatus(503));
        assertTrue(!o.retriesStatus(502) && !o.retriesOn("timeout"));
        assertEquals(Duration.ofSeconds(2), o.retryTimeout());
        assertEquals(new OverloadConfig.RetryBudget(10, 1), o.retryBudget());
    }

    @Test
    void theQueueAndBudgetHaveDefaults() {
        OverloadConfig o = overload("'queue': {}, 'retry_budget': {}");
        assertEquals(new OverloadConfig.Queue(100, Duration.ofSeconds(10)), o.queue());
        assertEquals(new OverloadConfig.RetryBudget(20, 3), o.retryBudget());
    }

    @Test
    void badValuesNameTheUpstreamAndKey() {
        assertTrue(error("'queue': {'size': 0}").startsWith("upstreams.app.queue.size: 0 (expected: 1..100000)"), error("'queue': {'size': 0}"));
        assertTrue(error("'queue': {'timeout': 'soon'}").startsWith("upstreams.app.queue.timeout: \"soon\""));
        assertTrue(error("'queue': {'sise': 3}").startsWith("upstreams.app.queue.sise: unknown key"));
        assertTrue(error("'retry_on': ['connect', '500']").startsWith("upstreams.app.retry_on[1]: \"500\" (expected: one of connect, timeout"));
        assertTrue(error("'retry_budget': {'percent': 101}").startsWith("upstreams.app.retry_budget.percent: 101 (expected: 0..100)"));
        assertTrue(error("'max_pending': 5").startsWith("upstreams.app.max_pending: 5 (expected: a \"queue\" block with it"));
        assertTrue(error("'max_requests': -1").startsWith("upstreams.app.max_requests: -1"));
        assertTrue(error("'retry_timeout': '0s'").startsWith("upstreams.app.retry_timeout: \"0s\""));
    }
}
