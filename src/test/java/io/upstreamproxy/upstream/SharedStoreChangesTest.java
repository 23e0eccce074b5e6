package io.upstreamproxy.upstream;

import static io.upstreamproxy.upstream.ChangeApplierTest.server;
import static io.upstreamproxy.upstream.ChangeApplierTest.weight;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ServerPatch;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.state.StateConflictException;
import io.upstreamproxy.state.StateStore;
import io.upstreamproxy.state.StoreUnavailableException;
import io.upstreamproxy.testing.ManualClock;
import io.upstreamproxy.upstream.ChangeRejected.Reason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The ChangeApplier over a shared store (fleet mode): intent sync, conflicts retried after a catch-up, outages refused. */
class SharedStoreChangesTest {
    /** A shared store fake: an intent per upstream, and failures queued for the next saves. */
    static final class SharedStore implements StateStore {
        final Map<String, RuntimeState.UpstreamState> intent = new java.util.HashMap<>();
        final List<RuntimeException> failures = new ArrayList<>();
        final List<RuntimeState> saved = new ArrayList<>();
        final List<RuntimeState> committed = new ArrayList<>();
        Runnable onCommit = () -> { };
        final List<RuntimeState> merged = new ArrayList<>();
        Runnable onCatchUp = () -> { };
        int catchUps;

        @Override
        public RuntimeState load() {
            return null;
        }

        @Override
        public void commit(RuntimeState base, RuntimeState next) {
            onCommit.run();
            if (!failures.isEmpty()) {
                throw failures.remove(0);
            }
            committed.add(next);
        }

        @Override
        public void save(RuntimeState state) {
            saved.add(state);
        }

        @Override
        public void saveMerged(RuntimeState state) {
            merged.add(state); // kept locally only, never shared
        }

        @Override
        public void catchUp(StateConflictException conflict) {
            catchUps++;
            onCatchUp.run();
        }

        @Override
        public RuntimeState.UpstreamState sharedIntent(String upstream) {
            return intent.get(upstream);
        }
    }

    final ProxyConfig config = ConfigLoader.parse(ChangeApplierTest.CONFIG, null);
    final SharedStore store = new SharedStore();
    final UpstreamRegistry registry = UpstreamRegistry.create(config, new ManualClock());
    final ChangeApplier changes = ChangeApplier.restore(registry, config, store);
    final Upstream backend = registry.get("backend");

    static RuntimeState.ServerState configured(int id, int port, ServerPatch set) {
        return RuntimeState.ServerState.configured(id, new HostPort("127.0.0.1", port), set);
    }

    @Test
    void syncMakesTheLiveServersMatchTheSharedIntent() {
        Server untouched = backend.server(0);
        untouched.onFailure();
        store.intent.put("backend", new RuntimeState.UpstreamState(6, List.of(
                configured(0, 9001, ServerPatch.EMPTY),
                configured(1, 9002, weight(7)),
                RuntimeState.ServerState.added(5, server(9005)),
                configured(4, 9999, ServerPatch.EMPTY)), // another instance's config: not run here
                List.of(new HostPort("127.0.0.1", 9003))));

        assertNull(changes.apply(new Change.SyncUpstream("backend")));

        assertSame(untouched, backend.server(0), "an unchanged server keeps its counters");
        assertEquals(1, untouched.stats().fails());
        assertEquals(7, backend.server(1).config().weight());
        assertNull(backend.server(2), "removed in the intent");
        assertEquals("127.0.0.1:9005", backend.server(5).address().toString());
        assertNull(backend.server(4), "a configured server this config lacks is not run");
        assertEquals(6, changes.state().upstream("backend").nextId(), "ids come from the intent's counter");
        assertEquals(store.intent.get("backend"), changes.state().upstream("backend"));
        assertEquals(store.intent.get("backend"), store.saved.get(store.saved.size() - 1).upstream("backend"));
    }

    @Test
    void syncWithoutSharedIntentChangesNothing() {
        int saves = store.saved.size();
        changes.apply(new Change.SyncUpstream("backend"));
        assertEquals(saves, store.saved.size());
        assertEquals(3, backend.servers().size());
    }

    @Test
    void aWriteThatLostARaceIsRetriedBeforeTheInstancesLaterWrites() throws Exception {
        List<String> commits = java.util.Collections.synchronizedList(new ArrayList<>());
        store.onCommit = () -> commits.add(Thread.currentThread().getName());
        store.failures.add(new StateConflictException("another instance changed servers/1 first"));
        ExecutorService later = Executors.newSingleThreadExecutor(r -> new Thread(r, "later"));
        try {
            Future<?>[] second = new Future<?>[1];
            store.onCatchUp = () -> {
                // a later write arrives while the first catches up; it must wait for the first's retry
                Thread[] t = new Thread[1];
                CountDownLatch started = new CountDownLatch(1);
                second[0] = later.submit(() -> {
                    t[0] = Thread.currentThread();
                    started.countDown();
                    changes.apply(new Change.PatchServer("backend", 2, weight(7), false));
                });
                try {
                    assertTrue(started.await(10, TimeUnit.SECONDS));
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (commits.size() < 2 && t[0].getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
                        Thread.onSpinWait(); // until it committed, or waits for the write lock
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            String first = Thread.currentThread().getName();

            changes.apply(new Change.PatchServer("backend", 1, weight(4), false));
            second[0].get(10, TimeUnit.SECONDS);

            assertEquals(List.of(first, first, "later"), commits, "refused, retried, then the later write");
            assertEquals(4, backend.server(1).config().weight());
            assertEquals(7, backend.server(2).config().weight());
        } finally {
            later.shutdownNow();
        }
    }

    @Test
    void conflictingSaveIsRetriedFromTheCaughtUpState() {
        store.failures.add(new StateConflictException("another instance changed servers/1 first"));
        // the catch-up brings in what the other instance wrote: a drain on server 1
        store.onCatchUp = () -> {
            store.intent.put("backend", new RuntimeState.UpstreamState(3, List.of(
                    configured(0, 9001, ServerPatch.EMPTY), configured(1, 9002, ChangeApplierTest.drain(true)),
                    configured(2, 9003, ServerPatch.EMPTY)), List.of()));
            changes.apply(new Change.SyncUpstream("backend"));
        };

        changes.apply(new Change.PatchServer("backend", 1, weight(4), false));

        assertEquals(1, store.catchUps);
        assertTrue(backend.server(1).config().drain(), "the other instance's drain is kept");
        assertEquals(4, backend.server(1).config().weight(), "and this change is applied on top");
    }

    @Test
    void unavailableStoreRefusesTheChangeAndChangesNothing() {
        store.failures.add(new StoreUnavailableException("etcd did not confirm it within 2000 ms"));
        ChangeRejected e = assertThrows(ChangeRejected.class,
                () -> changes.apply(new Change.PatchServer("backend", 1, weight(4), false)));
        assertEquals(Reason.STORE_UNAVAILABLE, e.reason());
        assertEquals(1, backend.server(1).config().weight());
    }

    @Test
    void reloadKeepsItsMergeLocalAndSharesNothing() {
        store.intent.put("backend", new RuntimeState.UpstreamState(5, List.of(
                configured(0, 9001, ServerPatch.EMPTY), configured(1, 9002, weight(3)),
                configured(2, 9003, ServerPatch.EMPTY), configured(4, 9999, ServerPatch.EMPTY)), List.of()));
        changes.apply(new Change.SyncUpstream("backend"));
        int commits = store.committed.size();
        store.merged.clear(); // start-up's

        changes.reload(config); // the merge drops server 4 (another instance's config): it must not reach the shared store

        assertEquals(commits, store.committed.size(), "nothing written to the shared store");
        assertEquals(1, store.merged.size());
        assertEquals(3, store.merged.get(0).upstream("backend").servers().size());
        assertEquals(3, backend.server(1).config().weight(), "the run-time value stays");
        changes.apply(new Change.SyncUpstream("backend")); // the node's rejoin applies the intent over the merge
        assertEquals(store.intent.get("backend"), changes.state().upstream("backend"));
    }

    @Test
    void resetIsSavedToTheSharedStoreLikeAnyChange() {
        changes.apply(new Change.PatchServer("backend", 1, weight(4), false));
        int commits = store.committed.size();

        changes.apply(new Change.ResetServer("backend", 1));

        assertEquals(commits + 1, store.committed.size());
        assertTrue(store.committed.get(store.committed.size() - 1).upstream("backend").server(1).set().equals(ServerPatch.EMPTY));
        assertEquals(1, backend.server(1).config().weight());
    }

    @Test
    void addingAnAddressTheSharedIntentHasButThisInstanceDoesNotRunIsRefused() {
        store.intent.put("backend", new RuntimeState.UpstreamState(5, List.of(
                configured(0, 9001, ServerPatch.EMPTY), configured(1, 9002, ServerPatch.EMPTY),
                configured(2, 9003, ServerPatch.EMPTY), configured(4, 9999, ServerPatch.EMPTY)), List.of()));
        changes.apply(new Change.SyncUpstream("backend"));
        ChangeRejected e = assertThrows(ChangeRejected.class, () -> changes.apply(new Change.AddServer("backend", server(9999))));
        assertEquals(Reason.SERVER_EXISTS, e.reason());
    }

    @Test
    void anotherInstancesChangeIsAppliedWhileThisInstancesCommitWaitsAndBothStay() throws Exception {
        CountDownLatch committing = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        store.onCommit = () -> {
            committing.countDown();
            await(answer); // etcd has not answered yet (an election)
        };
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            Future<Server> patched = writer.submit(() -> changes.apply(new Change.PatchServer("backend", 1, weight(4), false)));
            await(committing);
            RuntimeState.UpstreamState drained = new RuntimeState.UpstreamState(3, List.of(
                    configured(0, 9001, ChangeApplierTest.drain(true)), configured(1, 9002, ServerPatch.EMPTY),
                    configured(2, 9003, ServerPatch.EMPTY)), List.of());
            store.intent.put("backend", drained);

            assertTimeoutPreemptively(Duration.ofSeconds(5), () -> changes.apply(new Change.SyncUpstream("backend")),
                    "the other instance's change waited for this instance's commit");
            assertTrue(backend.server(0).config().drain());

            store.intent.put("backend", drained.replace(configured(1, 9002, weight(4)))); // etcd now has both
            answer.countDown();
            assertEquals(4, patched.get(5, TimeUnit.SECONDS).config().weight());
            assertEquals(4, backend.server(1).config().weight());
            assertTrue(backend.server(0).config().drain(), "the other instance's drain is not undone by the plan made before it");
            assertEquals(store.intent.get("backend"), changes.state().upstream("backend"));
        } finally {
            answer.countDown();
            writer.shutdownNow();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(5, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
