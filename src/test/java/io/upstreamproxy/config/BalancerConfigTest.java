package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BalancerConfigTest {

    private static ConfigException error(String upstream) {
        return assertThrows(ConfigException.class,
                () -> ConfigLoader.parse("{\"upstreams\": {\"b\": {" + upstream + ", \"servers\": [{\"server\": \"127.0.0.1:9001\"}]}}}", null));
    }

    @Test
    void consistentHashWithoutHashKeyPointsAtHashKey() {
        assertEquals("upstreams.b.hash_key: missing (expected: header:NAME, cookie:NAME, query:NAME, path or remote_addr)",
                error("\"balancer\": \"consistent-hash\"").getMessage());
    }

    @Test
    void malformedHashKeyPointsAtHashKey() {
        assertEquals("upstreams.b.hash_key: \"header\" (expected: header:NAME, cookie:NAME, query:NAME, path or remote_addr)",
                error("\"balancer\": \"consistent-hash\", \"hash_key\": \"header\"").getMessage());
    }

    @Test
    void hashKeyWithABalancerThatIgnoresItIsAnError() {
        assertEquals("upstreams.b.hash_key: \"cookie:sid\" (expected: no hash_key, or balancer consistent-hash)",
                error("\"balancer\": \"ip-hash\", \"hash_key\": \"cookie:sid\"").getMessage());
    }

    @Test
    void unknownBalancerListsTheKnownNames() {
        String m = error("\"balancer\": \"leastconn\"").getMessage();
        assertTrue(m.startsWith("upstreams.b.balancer: \"leastconn\" (expected one of: "), m);
        for (String name : new String[] {"consistent-hash", "ip-hash", "least-conn", "random-two", "round-robin", "unweighted-round-robin"}) {
            assertTrue(m.contains(name), m);
        }
    }

    @Test
    void everyBuiltInIsAcceptedByName() {
        for (String name : new String[] {"round-robin", "unweighted-round-robin", "least-conn", "random-two", "ip-hash"}) {
            ProxyConfig c = ConfigLoader.parse("{\"upstreams\": {\"b\": {\"balancer\": \"" + name + "\"}}}", null);
            assertEquals(name, c.upstreams().get("b").balancer());
        }
        ProxyConfig c = ConfigLoader.parse("{\"upstreams\": {\"b\": {\"balancer\": \"consistent-hash\", \"hash_key\": \"cookie:sid\"}}}", null);
        assertEquals("cookie:sid", c.upstreams().get("b").hashKey());
    }
}
