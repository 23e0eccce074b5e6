package io.upstreamproxy.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import io.upstreamproxy.state.RuntimeState;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;

class EtcdKeysTest {
    static final HostPort A = new HostPort("10.0.0.1", 80);
    static final HostPort C = new HostPort("10.0.0.3", 80);
    static final RuntimeState.UpstreamState BACKEND = new RuntimeState.UpstreamState(6, List.of(
            RuntimeState.ServerState.configured(0, A, new ServerPatch(true, null, 3, null, null, null, null)),
            RuntimeState.ServerState.added(5, ServerConfig.of(new HostPort("10.0.0.9", 80)).withWeight(2))),
            List.of(C));

    @Test
    void onePerServerKeyPlusCounterAndRemovedAddresses() {
        SortedMap<String, String> keys = EtcdKeys.flatten(new RuntimeState(Map.of("backend", BACKEND)));
        assertEquals(List.of("upstreams/backend/next_id", "upstreams/backend/removed/10.0.0.3:80",
                "upstreams/backend/servers/0", "upstreams/backend/servers/5"), List.copyOf(keys.keySet()));
        assertEquals("6", keys.get("upstreams/backend/next_id"));
        assertEquals("{\"server\":\"10.0.0.1:80\",\"set\":{\"drain\":true,\"weight\":3}}", keys.get("upstreams/backend/servers/0"));
        assertEquals(BACKEND, EtcdKeys.intent("backend", keys));
    }

    @Test
    void canonicalFormMakesEqualMeaningCompareEqual() {
        assertEquals("{\"server\":\"10.0.0.1:80\",\"set\":{\"drain\":true,\"weight\":3}}",
                EtcdKeys.canonical("upstreams/backend/servers/0", "{ \"set\": {\"weight\": 3, \"drain\": true}, \"server\": \"10.0.0.1:80\" }"));
        assertEquals("7", EtcdKeys.canonical("upstreams/backend/next_id", "7"));
        assertEquals("{\"instance\":\"a\"}", EtcdKeys.canonical("instances/a", "{\"instance\":\"a\"}"));
    }

    @Test
    void brokenKeysAndValuesAreNamed() {
        assertEquals("upstreams/backend/next_id: \"x\" (expected: the next server id, 0 or more)",
                assertThrows(ConfigException.class, () -> EtcdKeys.canonical("upstreams/backend/next_id", "x")).getMessage());
        assertThrows(ConfigException.class, () -> EtcdKeys.canonical("upstreams/backend/servers/0", "{\"server\": \"nope\"}"));
        assertThrows(ConfigException.class, () -> EtcdKeys.canonical("upstreams/backend/servers/x", "{}"));
        assertThrows(ConfigException.class, () -> EtcdKeys.canonical("upstreams/backend/other", "1"));
    }

    @Test
    void upstreamWithoutCounterIsNotSeeded() {
        assertNull(EtcdKeys.intent("backend", Map.of("upstreams/backend/servers/0", "{\"server\":\"10.0.0.1:80\"}")));
        assertEquals("backend", EtcdKeys.upstreamOf("upstreams/backend/servers/0"));
        assertNull(EtcdKeys.upstreamOf("instances/a"));
    }

    @Test
    void mirrorKeepsTheNewestValueWhateverTheOrderOfArrival() {
        EtcdMirror m = new EtcdMirror();
        m.merge("upstreams/b/next_id", "3", 10);
        m.merge("upstreams/b/next_id", "2", 9);
        assertEquals("3", m.entry("upstreams/b/next_id").value());
        m.replace(Map.of(), 12); // a full read without the key: deleted since
        assertNull(m.entry("upstreams/b/next_id").value());
        m.merge("upstreams/b/next_id", "4", 11); // a late watch event from before the read
        assertNull(m.entry("upstreams/b/next_id").value());
        assertEquals(12, m.stateRevision());
    }
}
