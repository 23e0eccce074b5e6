package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.balance.FirstUsableBalancerProvider;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import io.upstreamproxy.state.MemoryStateStore;
import io.upstreamproxy.state.StateException;
import io.upstreamproxy.testing.ManualClock;
import io.upstreamproxy.upstream.ChangeRejected.Reason;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ChangeApplier#reload}: the start-up path applied to a running registry. */
class ReloadTest {
    final ManualClock clock = new ManualClock();
    final MemoryStateStore store = new MemoryStateStore();

    static ProxyConfig config(String balancer, int servers, int weight) {
        List<String> list = new ArrayList<>();
        for (int i = 0; i < servers; i++) {
            list.add("{\"server\": \"10.0." + (i / 250) + "." + (i % 250 + 1) + ":80\", \"weight\": " + weight + "}");
        }
        return ConfigLoader.parse("{\"upstreams\": {\"backend\": {\"balancer\": \"" + balancer + "\", \"servers\": ["
                + String.join(", ", list) + "]}}}", null);
    }

    static ServerPatch weight(int w) {
        return new ServerPatch(null, null, w, null, null, null, null);
    }

    @Test
    void startUpAndReloadOfAThousandServersHandTheBalancersOneListEach() {
        int before = FirstUsableBalancerProvider.UPDATES.get();
        UpstreamRegistry registry = UpstreamRegistry.empty(clock);
        ChangeApplier changes = ChangeApplier.restore(registry, config(FirstUsableBalancerProvider.NAME, 1000, 1), store);
        assertEquals(1000, registry.get("backend").servers().size());
        assertEquals(before + 2, FirstUsableBalancerProvider.UPDATES.get(), "start-up: primaries and backups once");

        changes.reload(config(FirstUsableBalancerProvider.NAME, 1010, 7)); // every weight changed, ten servers more
        assertEquals(1010, registry.get("backend").servers().size());
        assertEquals(7, registry.get("backend").server(999).config().weight());
        assertEquals(before + 4, FirstUsableBalancerProvider.UPDATES.get(), "reload: once more, not once per changed server");
    }

    /** A reload gives the same upstream object new overload settings; its queue and budget (and what they counted) stay. */
    @Test
    void reloadAppliesTheQueueAndRetrySettingsToTheSameUpstream() {
        UpstreamRegistry registry = UpstreamRegistry.empty(clock);
        ChangeApplier changes = ChangeApplier.restore(registry, config("round-robin", 1, 1), store);
        Upstream u = registry.get("backend");
        Admission admission = u.admission();
        u.stats().queueFull();
        changes.reload(ConfigLoader.parse("{\"upstreams\": {\"backend\": {\"queue\": {\"size\": 7, \"timeout\": \"2s\"}, "
                + "\"retry_on\": [\"503\"], \"servers\": [{\"server\": \"10.0.0.1:80\"}]}}}", null));
        assertSame(u, registry.get("backend"));
        assertEquals(7, u.config().overload().queue().size());
        assertTrue(u.config().overload().retriesStatus(503));
        assertSame(admission, u.admission(), "requests queued now stay queued");
        assertEquals(1, u.stats().queueFullCount());
    }

    @Test
    void reloadKeepsServerObjectsAndIdsAndRunTimeValuesAndGivesNewServersNewIds() {
        UpstreamRegistry registry = UpstreamRegistry.empty(clock);
        ChangeApplier changes = ChangeApplier.restore(registry, config("round-robin", 3, 2), store);
        Upstream u = registry.get("backend");
        Server first = u.server(0);
        first.onRequestStart();
        changes.apply(new Change.PatchServer("backend", 0, weight(5), false));
        changes.apply(new Change.RemoveServer("backend", 2, false));

        changes.reload(config("least-conn", 4, 3));
        assertSame(u, registry.get("backend"), "an upstream that stays keeps its object");
        assertSame(first, u.server(0));
        assertEquals(1, first.stats().requests(), "counters kept");
        assertEquals(5, first.config().weight(), "the run-time weight wins over the config's 3");
        assertEquals(3, u.server(1).config().weight(), "the config's new weight where nothing was set at run time");
        assertNull(u.server(2), "deleted through the API: stays deleted while the config lists it");
        assertEquals(3, u.server(3).id(), "new in the config: the next id");
        assertEquals("least-conn", u.config().balancer());
        assertEquals(4, changes.state().upstream("backend").nextId());
    }

    @Test
    void serversNewAtReloadRampButThoseOfTheFirstStartDoNot() {
        String json = "{\"upstreams\": {\"b\": {\"servers\": [{\"server\": \"127.0.0.1:1\", \"slow_start\": \"10s\"}%s]}}}";
        UpstreamRegistry registry = UpstreamRegistry.empty(clock);
        ChangeApplier changes = ChangeApplier.restore(registry, ConfigLoader.parse(json.formatted(""), null), store);
        changes.reload(ConfigLoader.parse(json.formatted(", {\"server\": \"127.0.0.1:2\", \"slow_start\": \"10s\"}"), null));
        Upstream u = registry.get("b");
        assertEquals(u.server(0).config().weight() * io.upstreamproxy.balance.Endpoint.WEIGHT_SCALE, u.server(0).effectiveWeight(clock.nanos()));
        assertEquals(1, u.server(1).effectiveWeight(clock.nanos()));
    }

    @Test
    void reloadThatCannotSaveChangesNothing() {
        UpstreamRegistry registry = UpstreamRegistry.empty(clock);
        ChangeApplier changes = ChangeApplier.restore(registry, config("round-robin", 2, 1), store);
        store.failSaves = true;
        assertThrows(StateException.class, () -> changes.reload(config("round-robin", 3, 1)));
        assertEquals(2, registry.get("backend").servers().size());
        assertEquals(2, changes.state().upstream("backend").nextId());
    }

    @Test
    void upstreamGoneFromTheConfigIsGoneAndANewOneIsBuilt() {
        UpstreamRegistry registry = UpstreamRegistry.empty(clock);
        ChangeApplier changes = ChangeApplier.restore(registry, config("round-robin", 1, 1), store);
        Upstream old = registry.get("backend");
        changes.reload(ConfigLoader.parse("{\"upstreams\": {\"other\": {\"servers\": [{\"server\": \"127.0.0.1:1\"}]}}}", null));
        assertNull(registry.get("backend"));
        assertEquals(1, registry.get("other").servers().size());
        assertEquals(Reason.UPSTREAM_NOT_FOUND, assertThrows(ChangeRejected.class,
                () -> changes.apply(new Change.PatchServer("backend", 0, weight(2), false))).reason());
        changes.reload(config("round-robin", 1, 1));
        assertNotSame(old, registry.get("backend"), "a removed upstream comes back new");
    }

    @Test
    void resetDropsRunTimeValuesAndIsSaved() {
        UpstreamRegistry registry = UpstreamRegistry.empty(clock);
        ChangeApplier changes = ChangeApplier.restore(registry, config("round-robin", 2, 2), store);
        changes.apply(new Change.PatchServer("backend", 1, new ServerPatch(true, null, 9, null, null, null, null), true));
        Server s = changes.apply(new Change.ResetServer("backend", 1));
        assertEquals(2, s.config().weight());
        assertEquals(false, s.config().drain());
        assertTrue(store.last().upstream("backend").server(1).set().isEmpty());

        Server added = changes.apply(new Change.AddServer("backend", ServerConfig.of(new HostPort("127.0.0.1", 5))));
        assertEquals(Reason.NOTHING_TO_RESET, assertThrows(ChangeRejected.class,
                () -> changes.apply(new Change.ResetServer("backend", added.id()))).reason());
    }
}
