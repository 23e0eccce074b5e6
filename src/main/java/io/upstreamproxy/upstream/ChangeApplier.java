package io.upstreamproxy.upstream;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import io.upstreamproxy.state.OutcomeUnknownException;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.state.StateConflictException;
import io.upstreamproxy.state.StateException;
import io.upstreamproxy.state.StateMerge;
import io.upstreamproxy.state.StateStore;
import io.upstreamproxy.state.StoreUnavailableException;
import io.upstreamproxy.upstream.ChangeRejected.Reason;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one path by which servers change at run time: check the change, compute the new
 * {@link RuntimeState}, save it, and only then publish it to the live upstreams. If saving fails
 * nothing changes, so what runs never differs from what a restart would bring back.
 *
 * <p>Two locks. {@code writes} gives this instance's changes (API changes, reloads) one order,
 * which is what makes concurrent PATCHes end in a state someone asked for; it is held across a
 * shared store's commit (fleet mode: an etcd transaction, up to seconds in an election) and,
 * after a conflict, its catch-up and retry. {@code
 * lock} guards the state and the live upstreams and is held only to compute a change and to
 * publish it, never across the commit: applying another instance's change ({@link
 * Change.SyncUpstream}) takes only this one, so it no longer waits behind a local write etcd has
 * not answered yet (it did, and changes reached an instance up to 4 s late around a quorum loss).
 * Order: {@code writes}, then {@code lock}. Proxied requests take neither; they read the servers'
 * volatile settings and the upstreams' immutable lists, and see a change from the next pick on.
 */
public final class ChangeApplier {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeApplier.class);

    /**
     * Saves refused for conflicts before answering 503. Each retry follows a catch-up (the watch, or a read of
     * etcd, a few ms); measured with six clients racing on one server over three instances, 1 in
     * 900 writes still lost 20 races in a row, so the bound is generous: it only stops a storm.
     */
    private static final int MAX_ATTEMPTS = 50;

    private final UpstreamRegistry registry;
    private final StateStore store;
    /** Fair: a change waits only behind those that came before it (a monitor let later ones barge, for seconds in a storm). */
    private final ReentrantLock writes = new ReentrantLock(true);
    private final Object lock = new Object();
    private RuntimeState state; // guarded by lock
    private ProxyConfig config; // guarded by lock

    private ChangeApplier(UpstreamRegistry registry, StateStore store) {
        this.registry = registry;
        this.store = store;
    }

    /**
     * Start-up: loads the saved state, lays it over the config (see {@link StateMerge}), saves
     * the merged state when it differs (so ids given to servers new in the config are never
     * given again), then publishes every upstream once with its servers and ids.
     *
     * @throws StateException when the store cannot be read or written; start-up must stop
     */
    public static ChangeApplier restore(UpstreamRegistry registry, ProxyConfig config, StateStore store) {
        RuntimeState saved = store.load();
        ChangeApplier c = new ChangeApplier(registry, store);
        synchronized (c.lock) {
            c.layOut(config, saved, true);
        }
        if (saved != null) {
            LOG.info("restored run-time changes from {}", store);
        }
        return c;
    }

    /**
     * A reload: the new config merged with the run-time state exactly as at start-up, saved,
     * then published (upstreams that stay keep their objects, servers that stay keep theirs).
     * Runs under both locks, so no API change interleaves. In fleet mode the merge is this
     * instance's only: the store keeps it locally and joins the fleet's intent again with the new
     * config ({@link StateStore#saveMerged}).
     *
     * @throws StateException when the merged state cannot be saved; then nothing changed
     */
    public void reload(ProxyConfig next) {
        writes.lock();
        try {
            synchronized (lock) {
                layOut(next, state, false);
            }
        } finally {
            writes.unlock();
        }
    }

    /** The one path from a config and a saved state to published upstreams; caller holds the lock. */
    private void layOut(ProxyConfig next, RuntimeState saved, boolean startup) {
        StateMerge.Result merged = StateMerge.merge(next, saved);
        if (!merged.state().equals(saved)) {
            store.saveMerged(merged.state()); // first: a state that cannot be saved must not run
        }
        registry.layOut(next.upstreams().values(), merged.servers(), startup);
        merged.notes().forEach(note -> LOG.warn("{}: {}", store, note));
        state = merged.state();
        config = next;
    }

    public UpstreamRegistry registry() {
        return registry;
    }

    /** The config running, as {@link #restore} or the last {@link #reload} was given it (host names resolved). */
    public ProxyConfig config() {
        synchronized (lock) {
            return config;
        }
    }

    /** The state as last saved. */
    public RuntimeState state() {
        synchronized (lock) {
            return state;
        }
    }

    /**
     * Applies a change and returns the server it concerned (for a removal, the removed one; for a
     * {@link Change.SyncUpstream}, null).
     *
     * @throws ChangeRejected when the change is refused or cannot be saved; then nothing changed
     */
    public Server apply(Change change) {
        return apply(change, null);
    }

    /**
     * As {@link #apply(Change)}; {@code by} (the client's address, or null) goes into the log line.
     *
     * <p>A shared store (fleet mode) may refuse a save because another instance changed the same
     * server first; then this instance catches up outside the state lock and computes the change
     * again from the new state, so no update is lost and the checks see what is current. The
     * write lock is held across the catch-up and the retry: a write that lost a race keeps its
     * place before this instance's later ones (released, it went to the back of the fair queue
     * each time, and a write to a server that six writers shared waited behind all of them, up
     * to 1.7 s after etcd's return).
     */
    public Server apply(Change change, String by) {
        if (change instanceof Change.SyncUpstream) {
            synchronized (lock) {
                sync(upstream(change));
            }
            return null; // the fleet's own log lines say what changed; not an operator's change here
        }
        writes.lock();
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    return applyOnce(change, by);
                } catch (StateConflictException e) {
                    if (attempt == MAX_ATTEMPTS) {
                        throw new ChangeRejected(Reason.STORE_UNAVAILABLE, "change not applied: still conflicting after "
                                + attempt + " attempts: " + e.getMessage());
                    }
                    try {
                        store.catchUp(e);
                    } catch (StoreUnavailableException u) {
                        throw new ChangeRejected(Reason.STORE_UNAVAILABLE, "change not applied: " + u.getMessage());
                    }
                }
            }
        } finally {
            writes.unlock();
        }
    }

    /**
     * A change computed under the lock, to commit without it and then publish. {@code publish}
     * makes it live over {@code base}; {@code caughtUp} finds the answer's server when the
     * fleet's intent was applied meanwhile instead (it holds this change, committed, too).
     */
    private record Planned(Upstream upstream, RuntimeState base, RuntimeState next, Supplier<Server> publish,
            Supplier<Server> caughtUp) {}

    /** One attempt, under the write lock. */
    private Server applyOnce(Change change, String by) {
        Planned p;
        synchronized (lock) {
            p = plan(change);
        }
        toStore(() -> store.commit(p.base(), p.next()));
        synchronized (lock) {
            Server s;
            if (state == p.base()) {
                save(p.next());
                s = p.publish().get();
            } else {
                // another instance's change was applied while the store committed this one: the
                // shared intent applied now holds both (publishing the plan would undo the other)
                sync(p.upstream());
                s = p.caughtUp().get();
            }
            LOG.info("{}", ChangeText.of(change, s, by));
            return s;
        }
    }

    private Planned plan(Change change) {
        Upstream u = upstream(change);
        RuntimeState.UpstreamState us = state.upstream(u.name());
        // A sealed interface, but Java 17 has no pattern switch; the chain is exhaustive.
        if (change instanceof Change.PatchServer p) {
            return patch(u, us, p);
        } else if (change instanceof Change.AddServer a) {
            return add(u, us, a);
        } else if (change instanceof Change.ResetServer r) {
            return reset(u, us, r);
        }
        return remove(u, us, (Change.RemoveServer) change);
    }

    private Upstream upstream(Change change) {
        Upstream u = registry.get(change.upstream());
        if (u == null) {
            throw new ChangeRejected(Reason.UPSTREAM_NOT_FOUND, "upstream \"" + change.upstream() + "\" not found");
        }
        return u;
    }

    /** Makes the live upstream match the shared intent (fleet mode), if there is one; caller holds the lock. */
    private void sync(Upstream u) {
        // read under the lock: an intent read earlier could predate this instance's own last write
        RuntimeState.UpstreamState intent = store.sharedIntent(u.name());
        if (intent != null && !intent.equals(state.upstream(u.name()))) {
            IntentSync.apply(registry, u, intent, () -> save(state.with(u.name(), intent)));
        }
    }

    private Planned planned(Upstream u, RuntimeState.UpstreamState next, Supplier<Server> publish, Supplier<Server> caughtUp) {
        return new Planned(u, state, state.with(u.name(), next), publish, caughtUp);
    }

    /** The server with this id as the intent now runs it; the plan's when a later change removed it. */
    private static Supplier<Server> now(Upstream u, Server planned) {
        return () -> {
            Server s = u.server(planned.id());
            return s != null ? s : planned;
        };
    }

    private Planned patch(Upstream u, RuntimeState.UpstreamState us, Change.PatchServer p) {
        Server s = server(u, p.id());
        ServerConfig next = p.patch().applyTo(s.config());
        if (!p.force() && p.patch().takesOutOfRotation()) {
            checkNotLastAvailable(u, s, p.patch().drain() != null && p.patch().drain() ? "draining" : "downing");
        }
        return planned(u, us.replace(us.server(s.id()).patched(p.patch())), () -> {
            s.update(next);
            return s;
        }, now(u, s));
    }

    private Planned add(Upstream u, RuntimeState.UpstreamState us, Change.AddServer a) {
        ServerConfig c = a.settings();
        Server existing = u.server(c.address());
        if (existing != null) {
            throw new ChangeRejected(Reason.SERVER_EXISTS, "server " + c.address() + " already in upstream \""
                    + u.name() + "\" (id " + existing.id() + ")");
        }
        for (RuntimeState.ServerState kept : us.servers()) {
            // fleet mode: a server another instance's config has, not running here
            if (kept.address().equals(c.address())) {
                throw new ChangeRejected(Reason.SERVER_EXISTS, "server " + c.address() + " already in upstream \""
                        + u.name() + "\" (id " + kept.id() + ", not in this instance's config)");
            }
        }
        int id = us.nextId();
        return planned(u, us.add(id, c), () -> u.addAtRunTime(id, c), () -> {
            Server s = u.server(id);
            return s != null ? s : new Server(id, u.name(), c, u.clock()); // removed by a later change already
        });
    }

    /**
     * Drops the run-time values of a server so the config's apply again. A server the API added
     * becomes a configured one when the config lists its address; otherwise it has no config
     * values to return to, and the reset is refused.
     */
    private Planned reset(Upstream u, RuntimeState.UpstreamState us, Change.ResetServer r) {
        Server s = server(u, r.id());
        ServerConfig configured = null;
        for (ServerConfig c : config.upstreams().get(u.name()).servers()) {
            if (c.address().equals(s.address())) {
                configured = c;
            }
        }
        if (configured == null) {
            throw new ChangeRejected(Reason.NOTHING_TO_RESET, "server " + s.id() + " (" + s.key() + ") was added at run time"
                    + " and is not in the config: it has no config values to return to");
        }
        ServerConfig back = configured;
        return planned(u, us.replace(RuntimeState.ServerState.configured(s.id(), s.address(), ServerPatch.EMPTY)), () -> {
            s.update(back);
            return s;
        }, now(u, s));
    }

    private Planned remove(Upstream u, RuntimeState.UpstreamState us, Change.RemoveServer r) {
        Server s = server(u, r.id());
        if (!r.force()) {
            checkNotLastAvailable(u, s, "removing");
        }
        return planned(u, us.remove(s.id()), () -> {
            u.remove(s.id());
            return s;
        }, () -> s);
    }

    private static Server server(Upstream u, int id) {
        Server s = u.server(id);
        if (s == null) {
            throw new ChangeRejected(Reason.SERVER_NOT_FOUND, "server " + id + " not found in upstream \"" + u.name() + "\"");
        }
        return s;
    }

    /**
     * Refuses to take the last available primary out of rotation: that would send all traffic to
     * backups, or answer 503. "Available" is the operator's view: not down, not draining, healthy
     * and not passively failed; momentarily being at max_conns does not count.
     */
    private static void checkNotLastAvailable(Upstream u, Server s, String what) {
        long now = u.clock().nanos();
        if (s.config().backup() || !s.isInRotation(now)) {
            return;
        }
        for (Server other : u.servers()) {
            if (other != s && !other.config().backup() && other.isInRotation(now)) {
                return;
            }
        }
        throw new ChangeRejected(Reason.LAST_AVAILABLE_SERVER, what + " server " + s.id() + " (" + s.key()
                + ") would leave upstream \"" + u.name() + "\" without an available primary server; add ?force=true to do it anyway");
    }

    /** Saves under the lock (the state file; a shared store's cache), then the state is {@code next}. */
    private void save(RuntimeState next) {
        toStore(() -> store.save(next));
        state = next;
    }

    /** Runs a store call; a failure becomes the change's refusal here, in one place. */
    private static void toStore(Runnable call) {
        try {
            call.run();
        } catch (StateConflictException e) {
            throw e; // apply() catches up and tries again
        } catch (StoreUnavailableException e) {
            LOG.warn("change not applied: {}", e.getMessage());
            throw new ChangeRejected(Reason.STORE_UNAVAILABLE, "change not applied: " + e.getMessage());
        } catch (OutcomeUnknownException e) {
            LOG.warn("change not applied here, outcome unknown: {}", e.getMessage());
            throw new ChangeRejected(Reason.OUTCOME_UNKNOWN, "change not applied here and its outcome in the shared store "
                    + "is unknown: " + e.getMessage() + "; read the server back before retrying");
        } catch (StateException e) {
            LOG.error("change not applied: {}", e.getMessage());
            throw new ChangeRejected(Reason.NOT_SAVED, "change not applied: " + e.getMessage());
        }
    }
}
