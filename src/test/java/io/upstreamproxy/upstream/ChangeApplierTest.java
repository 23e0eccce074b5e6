package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import io.upstreamproxy.state.MemoryStateStore;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.testing.ManualClock;
import io.upstreamproxy.upstream.ChangeRejected.Reason;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChangeApplierTest {
    static final String CONFIG = "{\"upstreams\": {\"backend\": {\"servers\": ["
            + "{\"server\": \"127.0.0.1:9001\"}, {\"server\": \"127.0.0.1:9002\"}, {\"server\": \"127.0.0.1:9003\", \"backup\": true}]}}}";

    final ManualClock clock = new ManualClock();
    final ProxyConfig config = ConfigLoader.parse(CONFIG, null);
    final MemoryStateStore store = new MemoryStateStore();
    final UpstreamRegistry registry = UpstreamRegistry.create(config, clock);
    final ChangeApplier changes = ChangeApplier.restore(registry, config, store);
    final Upstream backend = registry.get("backend");

    static ServerPatch drain(boolean on) {
        return new ServerPatch(on, null, null, null, null, null, null);
    }

    static ServerPatch weight(int w) {
        return new ServerPatch(null, null, w, null, null, null, null);
    }

    static ServerConfig server(int port) {
        return ServerConfig.of(new HostPort("127.0.0.1", port));
    }

    Reason rejected(Change c) {
        return assertThrows(ChangeRejected.class, () -> changes.apply(c)).reason();
    }

    Server pick() {
        return backend.pick(new RequestInfo() {
            public String clientAddress() { return "127.0.0.1"; }
            public String path() { return "/"; }
            public String header(String name) { return null; }
            public String cookie(String name) { return null; }
            public String query(String name) { return null; }
        }, s -> false);
    }

    @Test
    void patchIsSavedAndTakesEffectOnTheNextPick() {
        changes.apply(new Change.PatchServer("backend", 0, drain(true), false));
        assertTrue(backend.server(0).config().drain());
        assertEquals(drain(true), store.last().upstream("backend").server(0).set());
        for (int i = 0; i < 10; i++) {
            assertEquals(1, pick().id(), "a drained server gets no new request");
        }
    }

    @Test
    void patchesAccumulateInTheSavedState() {
        changes.apply(new Change.PatchServer("backend", 1, weight(5), false));
        changes.apply(new Change.PatchServer("backend", 1, drain(true), false));
        assertEquals(new ServerPatch(true, null, 5, null, null, null, null), store.last().upstream("backend").server(1).set());
        assertEquals(5, backend.server(1).config().weight());
    }

    @Test
    void drainingOrDowningTheLastAvailablePrimaryIsRefusedUnlessForced() {
        changes.apply(new Change.PatchServer("backend", 0, drain(true), false));
        int saves = store.saved.size();
        assertEquals(Reason.LAST_AVAILABLE_SERVER, rejected(new Change.PatchServer("backend", 1, drain(true), false)));
        assertEquals(Reason.LAST_AVAILABLE_SERVER, rejected(new Change.PatchServer("backend", 1,
                new ServerPatch(null, true, null, null, null, null, null), false)));
        assertEquals(Reason.LAST_AVAILABLE_SERVER, rejected(new Change.RemoveServer("backend", 1, false)));
        assertEquals(saves, store.saved.size(), "a refused change saves nothing");
        assertFalse(backend.server(1).config().drain());

        changes.apply(new Change.PatchServer("backend", 1, drain(true), true));
        assertTrue(backend.server(1).config().drain());
        assertEquals(2, pick().id(), "only the backup is left");
    }

    @Test
    void serversAlreadyOutOfRotationOrBackupsAreNotProtected() {
        changes.apply(new Change.PatchServer("backend", 0, drain(true), false));
        changes.apply(new Change.PatchServer("backend", 0, drain(true), false)); // again: not the last available
        changes.apply(new Change.PatchServer("backend", 2, drain(true), false)); // a backup
        changes.apply(new Change.PatchServer("backend", 1, weight(3), false));   // not taking it out
        assertTrue(backend.server(2).config().drain());
    }

    @Test
    void passivelyFailedPrimaryDoesNotCountAsAvailable() {
        backend.server(0).onRequestStart();
        backend.server(0).onFailure(); // max_fails 1: unavailable for fail_timeout
        assertEquals(Reason.LAST_AVAILABLE_SERVER, rejected(new Change.PatchServer("backend", 1, drain(true), false)));
        clock.advance(Duration.ofSeconds(11)); // fail_timeout (10s) is over
        changes.apply(new Change.PatchServer("backend", 1, drain(true), false));
    }

    @Test
    void addedServerGetsTheNextIdAndIdsAreNeverReused() {
        Server added = changes.apply(new Change.AddServer("backend", server(9004)));
        assertEquals(3, added.id());
        assertSame(added, backend.server(3));
        changes.apply(new Change.RemoveServer("backend", 3, false));
        assertNull(backend.server(3));
        assertEquals(4, changes.apply(new Change.AddServer("backend", server(9004))).id());
        assertEquals(5, store.last().upstream("backend").nextId());
    }

    @Test
    void addingAServerAlreadyThereIsRefused() {
        assertEquals(Reason.SERVER_EXISTS, rejected(new Change.AddServer("backend", server(9002).withWeight(4))));
        assertEquals(3, backend.servers().size());
    }

    @Test
    void unknownUpstreamOrServerIsRefused() {
        assertEquals(Reason.UPSTREAM_NOT_FOUND, rejected(new Change.PatchServer("nope", 0, drain(true), false)));
        assertEquals(Reason.SERVER_NOT_FOUND, rejected(new Change.PatchServer("backend", 9, drain(true), false)));
        assertEquals(Reason.SERVER_NOT_FOUND, rejected(new Change.RemoveServer("backend", 9, false)));
    }

    @Test
    void whenSavingFailsNothingChanges() {
        RuntimeState before = changes.state();
        store.failSaves = true;
        assertEquals(Reason.NOT_SAVED, rejected(new Change.PatchServer("backend", 0, weight(9), false)));
        assertEquals(Reason.NOT_SAVED, rejected(new Change.AddServer("backend", server(9004))));
        assertEquals(Reason.NOT_SAVED, rejected(new Change.RemoveServer("backend", 1, false)));
        assertEquals(1, backend.server(0).config().weight());
        assertEquals(3, backend.servers().size());
        assertEquals(3, changes.state().upstream("backend").nextId());
        assertEquals(before, changes.state());
        store.failSaves = false;
        assertEquals(3, changes.apply(new Change.AddServer("backend", server(9004))).id(), "the failed add used no id");
    }

    @Test
    void restoreRebuildsIdsAndSettingsFromTheSavedState() {
        changes.apply(new Change.PatchServer("backend", 0, drain(true), false));
        changes.apply(new Change.AddServer("backend", server(9004).withWeight(6)));
        changes.apply(new Change.RemoveServer("backend", 1, false));

        UpstreamRegistry again = UpstreamRegistry.empty(clock);
        ChangeApplier restored = ChangeApplier.restore(again, config, new MemoryStateStore(store.last()));
        Upstream u = again.get("backend");
        assertEquals(List.of(0, 2, 3), u.servers().stream().map(Server::id).toList());
        assertTrue(u.server(0).config().drain());
        assertEquals(6, u.server(3).config().weight());
        assertEquals(4, restored.state().upstream("backend").nextId());
    }

    @Test
    void restoreSavesTheMergedStateOnlyWhenItChanged() {
        assertEquals(1, store.saved.size(), "first start records the config's ids");
        MemoryStateStore same = new MemoryStateStore(store.last());
        ChangeApplier.restore(UpstreamRegistry.create(config, clock), config, same);
        assertTrue(same.saved.isEmpty());
    }
}
