package io.upstreamproxy.upstream;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.state.StateConflictException;
import io.upstreamproxy.state.StateException;
import io.upstreamproxy.state.StateMerge;
import io.upstreamproxy.state.StateStore;
import io.upstreamproxy.state.StoreUnavailableException;
import io.upstreamproxy.upstream.ChangeRejected.Reason;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one path by which servers change at run time: check the change, compute the new
 * {@link RuntimeState}, save it, and only then publish it to the live upstreams. If saving fails
 * nothing changes, so what runs never differs from what a restart would bring back.
 *
 * <p>One lock for all writers: changes are operator actions, rare and cheap except for the
 * save, and a single order of changes is what makes concurrent PATCHes end in a state someone
 * asked for. Proxied requests never take this lock; they read the servers' volatile settings
 * and the upstreams' immutable lists, and see a change from the next pick on.
 */
public final class ChangeApplier {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeApplier.class);

    /**
     * Saves refused for conflicts before answering 503. Each retry follows a catch-up (a read of
     * etcd, a few ms); measured with six clients racing on one server over three instances, 1 in
     * 900 writes still lost 20 races in a row, so the bound is generous: it only stops a storm.
     */
    private static final int MAX_ATTEMPTS = 50;

    private final UpstreamRegistry registry;
    private final StateStore store;
    private final Object lock = new Object();
    private RuntimeState state; // guarded by lock

    private ChangeApplier(UpstreamRegistry registry, StateStore store, RuntimeState state) {
        this.registry = registry;
        this.store = store;
        this.state = state;
    }

    /**
     * Start-up: loads the saved state, lays it over the config (see {@link StateMerge}), gives
     * the registry's upstreams the resulting servers and ids, and saves the merged state when it
     * differs (so ids given to servers new in the config are never given again).
     *
     * @throws StateException when the store cannot be read or written; start-up must stop
     */
    public static ChangeApplier restore(UpstreamRegistry registry, ProxyConfig config, StateStore store) {
        RuntimeState saved = store.load();
        StateMerge.Result merged = StateMerge.merge(config, saved);
        merged.servers().forEach((name, servers) -> layOut(registry.get(name), servers,
                merged.state().upstream(name).nextId()));
        merged.notes().forEach(note -> LOG.warn("{}: {}", store, note));
        if (!merged.state().equals(saved)) {
            store.save(merged.state());
        }
        if (saved != null) {
            LOG.info("restored run-time changes from {}", store);
        }
        return new ChangeApplier(registry, store, merged.state());
    }

    /** Replaces the config-order servers of a freshly built upstream by the merged ones. */
    private static void layOut(Upstream u, List<StateMerge.Placed> servers, int nextId) {
        for (Server s : u.servers()) {
            u.remove(s.id());
        }
        for (StateMerge.Placed p : servers) {
            u.addWithId(p.id(), p.settings());
        }
        u.advanceNextId(nextId);
    }

    public UpstreamRegistry registry() {
        return registry;
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
     * <p>A shared store (fleet mode) may refuse a save because another instance changed the same
     * server first; then this instance catches up outside the lock and computes the change again
     * from the new state, so no update is lost and the checks see what is current.
     *
     * @throws ChangeRejected when the change is refused or cannot be saved; then nothing changed
     */
    public Server apply(Change change) {
        for (int attempt = 1; ; attempt++) {
            try {
                return applyOnce(change);
            } catch (StateConflictException e) {
                if (attempt == MAX_ATTEMPTS) {
                    throw new ChangeRejected(Reason.STORE_UNAVAILABLE, "change not applied: still conflicting after "
                            + attempt + " attempts: " + e.getMessage());
                }
                try {
                    store.catchUp();
                } catch (StoreUnavailableException u) {
                    throw new ChangeRejected(Reason.STORE_UNAVAILABLE, "change not applied: " + u.getMessage());
                }
            }
        }
    }

    private Server applyOnce(Change change) {
        synchronized (lock) {
            Upstream u = registry.get(change.upstream());
            if (u == null) {
                throw new ChangeRejected(Reason.UPSTREAM_NOT_FOUND, "upstream \"" + change.upstream() + "\" not found");
            }
            RuntimeState.UpstreamState us = state.upstream(u.name());
            // A sealed interface, but Java 17 has no pattern switch; the chain is exhaustive.
            Server s;
            if (change instanceof Change.PatchServer p) {
                s = patch(u, us, p);
            } else if (change instanceof Change.AddServer a) {
                s = add(u, us, a);
            } else if (change instanceof Change.SyncUpstream) {
                // read under the lock: an intent read earlier could predate this instance's own last write
                RuntimeState.UpstreamState intent = store.sharedIntent(u.name());
                if (intent != null && !intent.equals(us)) {
                    IntentSync.apply(u, intent, () -> save(state.with(u.name(), intent)));
                }
                return null;
            } else {
                s = remove(u, us, (Change.RemoveServer) change);
            }
            LOG.info("applied {} to {}", change, s);
            return s;
        }
    }

    private Server patch(Upstream u, RuntimeState.UpstreamState us, Change.PatchServer p) {
        Server s = server(u, p.id());
        ServerConfig next = p.patch().applyTo(s.config());
        if (!p.force() && p.patch().takesOutOfRotation()) {
            checkNotLastAvailable(u, s, p.patch().drain() != null && p.patch().drain() ? "draining" : "downing");
        }
        save(state.with(u.name(), us.replace(us.server(s.id()).patched(p.patch()))));
        s.update(next);
        return s;
    }

    private Server add(Upstream u, RuntimeState.UpstreamState us, Change.AddServer a) {
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
        int id = Math.max(us.nextId(), u.nextId());
        save(state.with(u.name(), us.add(id, c)));
        return u.addAtRunTime(id, c);
    }

    private Server remove(Upstream u, RuntimeState.UpstreamState us, Change.RemoveServer r) {
        Server s = server(u, r.id());
        if (!r.force()) {
            checkNotLastAvailable(u, s, "removing");
        }
        save(state.with(u.name(), us.remove(s.id())));
        u.remove(s.id());
        return s;
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

    private void save(RuntimeState next) {
        try {
            store.save(next);
        } catch (StateConflictException e) {
            throw e; // apply() catches up and tries again
        } catch (StoreUnavailableException e) {
            LOG.warn("change not applied: {}", e.getMessage());
            throw new ChangeRejected(Reason.STORE_UNAVAILABLE, "change not applied: " + e.getMessage());
        } catch (StateException e) {
            LOG.error("change not applied: {}", e.getMessage());
            throw new ChangeRejected(Reason.NOT_SAVED, "change not applied: " + e.getMessage());
        }
        state = next;
    }
}
