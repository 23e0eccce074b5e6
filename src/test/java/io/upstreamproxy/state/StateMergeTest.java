package io.upstreamproxy.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class StateMergeTest {

    static ProxyConfig config(String servers) {
        return ConfigLoader.parse("{\"upstreams\": {\"backend\": {\"servers\": [" + servers + "]}}}", null);
    }

    static HostPort hp(int port) {
        return new HostPort("h", port);
    }

    /** address → id of the merged servers. */
    static Map<String, Integer> ids(StateMerge.Result r) {
        return r.servers().get("backend").stream()
                .collect(Collectors.toMap(p -> p.settings().address().toString(), StateMerge.Placed::id));
    }

    static ServerConfig settings(StateMerge.Result r, int id) {
        return r.servers().get("backend").stream().filter(p -> p.id() == id).findFirst().orElseThrow().settings();
    }

    @Test
    void withoutSavedStateIdsFollowConfigOrder() {
        StateMerge.Result r = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\", \"backup\": true}"), null);
        assertEquals(Map.of("h:1", 0, "h:2", 1), ids(r));
        assertEquals(2, r.state().upstream("backend").nextId());
        assertTrue(r.notes().isEmpty());
    }

    @Test
    void anAddressDeletedAfterTheApiAddedItAgainStaysDeletedWhenTheConfigListsIt() {
        RuntimeState.UpstreamState u = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\"}"), null)
                .state().upstream("backend")
                .remove(1) // configured h:2
                .add(2, ServerConfig.of(hp(2))); // added again through the API
        assertEquals(List.of(), u.removed(), "adding it again is how an operator brings it back");
        u = u.remove(2); // the added h:2
        assertEquals(List.of(hp(2)), u.removed());
        StateMerge.Result r = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\"}"),
                new RuntimeState(Map.of("backend", u)));
        assertEquals(Map.of("h:1", 0), ids(r));
    }

    @Test
    void serversAreMatchedByAddressNotByPosition() {
        RuntimeState saved = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\"}"), null).state();
        StateMerge.Result r = StateMerge.merge(config("{\"server\": \"h:2\"}, {\"server\": \"h:1\"}"), saved);
        assertEquals(Map.of("h:1", 0, "h:2", 1), ids(r));
    }

    @Test
    void apiFieldsWinAndUntouchedFieldsFollowTheEditedConfig() {
        RuntimeState saved = new RuntimeState(Map.of("backend", new RuntimeState.UpstreamState(1, List.of(
                RuntimeState.ServerState.configured(0, hp(1), new ServerPatch(true, null, null, null, null, null, null))), List.of())));
        StateMerge.Result r = StateMerge.merge(config("{\"server\": \"h:1\", \"weight\": 9, \"max_fails\": 4}"), saved);
        ServerConfig s = settings(r, 0);
        assertTrue(s.drain(), "drained through the API");
        assertEquals(9, s.weight(), "the config's new weight applies: the API never set it");
        assertEquals(4, s.maxFails());
    }

    @Test
    void serverNewInTheConfigGetsTheNextIdNeverAnOldOne() {
        // a0 b1 c2 saved; then h:3 is taken out of the file and h:4 put in
        RuntimeState saved = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\"}, {\"server\": \"h:3\"}"), null).state();
        StateMerge.Result r = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\"}, {\"server\": \"h:4\"}"), saved);
        assertEquals(Map.of("h:1", 0, "h:2", 1, "h:4", 3), ids(r));
        assertEquals(4, r.state().upstream("backend").nextId());
        assertTrue(r.notes().stream().anyMatch(n -> n.contains("h:3") && n.contains("no longer in the config")), r.notes().toString());
        assertTrue(r.notes().stream().anyMatch(n -> n.contains("h:4") && n.contains("new in the config: id 3")), r.notes().toString());
    }

    @Test
    void addedServerStaysWithItsSettingsAndDeletedConfigServerStaysDeleted() {
        RuntimeState.UpstreamState u = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\"}"), null)
                .state().upstream("backend")
                .add(2, ServerConfig.of(hp(5)).withWeight(7))
                .remove(1);
        StateMerge.Result r = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\"}"), new RuntimeState(Map.of("backend", u)));
        assertEquals(Map.of("h:1", 0, "h:5", 2), ids(r));
        assertEquals(7, settings(r, 2).weight());
        assertEquals(List.of(hp(2)), r.state().upstream("backend").removed());
    }

    @Test
    void deletedServerGoneFromTheConfigIsForgottenAndComesBackWithANewIdIfReadded() {
        RuntimeState.UpstreamState u = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\"}"), null)
                .state().upstream("backend").remove(1);
        RuntimeState saved = StateMerge.merge(config("{\"server\": \"h:1\"}"), new RuntimeState(Map.of("backend", u))).state();
        assertEquals(List.of(), saved.upstream("backend").removed());
        StateMerge.Result back = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\"}"), saved);
        assertEquals(Map.of("h:1", 0, "h:2", 2), ids(back));
    }

    @Test
    void upstreamGoneFromTheConfigIsDropped() {
        RuntimeState saved = new RuntimeState(Map.of("old", new RuntimeState.UpstreamState(0, List.of(), List.of())));
        StateMerge.Result r = StateMerge.merge(config("{\"server\": \"h:1\"}"), saved);
        assertNull(r.state().upstream("old"));
        assertFalse(r.notes().isEmpty());
    }

    @Test
    void mergingTwiceChangesNothingMore() {
        RuntimeState once = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:4\"}"),
                StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:3\"}"), null).state()).state();
        StateMerge.Result twice = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:4\"}"), once);
        assertEquals(once, twice.state());
        assertTrue(twice.notes().isEmpty());
    }

    @Test
    void eachRunTimeValueThatOverridesADifferentConfigValueIsNoted() {
        RuntimeState saved = new RuntimeState(Map.of("backend", new RuntimeState.UpstreamState(2, List.of(
                RuntimeState.ServerState.configured(0, hp(1), ServerPatch.EMPTY),
                RuntimeState.ServerState.configured(1, hp(2), new ServerPatch(true, null, 5, null, null, null, null))), List.of())));
        StateMerge.Result r = StateMerge.merge(config("{\"server\": \"h:1\"}, {\"server\": \"h:2\", \"weight\": 2, \"drain\": true}"), saved);
        assertEquals(List.of("backend server 1 (h:2) weight: config 2, run-time 5 kept"), r.notes(),
                "drain is true in both: no note; weight differs: one note");
        assertEquals(5, settings(r, 1).weight());
    }
}
