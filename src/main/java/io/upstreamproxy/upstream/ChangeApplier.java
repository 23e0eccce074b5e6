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
     * Runs under the change lock, so no API change interleaves. In fleet mode the merge is this
     * instance's only: the store keeps it locally and joins the fleet's intent again with the new
     * config ({@link StateStore#saveMerged}).
     *
     * @throws StateException when the merged state cannot be saved; then nothing changed
     */
    public void reload(ProxyConfig next) {
        synchronized (lock) {
            layOut(next, state, false);
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
     * server first; then this instance catches up outside the lock and computes the change again
     * from the new state, so no update is lost and the checks see what is current.
     */
    public Server apply(Change change, String by) {
        for (int attempt = 1; ; attempt++) {
            try {
                return applyOnce(change, by);
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

    private Server applyOnce(Change change, String by) {
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
            } else if (change instanceof Change.ResetServer r) {
                s = reset(u, us, r);
            } else if (change instanceof Change.SyncUpstream) {
                // read under the lock: an intent read earlier could predate this instance's own last write
                RuntimeState.UpstreamState intent = store.sharedIntent(u.name());
                if (intent != null && !intent.equals(us)) {
                    IntentSync.apply(registry, u, intent, () -> save(state.with(u.name(), intent)));
                }
                return null; // the fleet's own log lines say what changed; not an operator's change here
            } else {
                s = remove(u, us, (Change.RemoveServer) change);
            }
            LOG.info("{}", ChangeText.of(change, s, by));
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
        int id = us.nextId();
        save(state.with(u.name(), us.add(id, c)));
        return u.addAtRunTime(id, c);
    }

    /**
     * Drops the run-time values of a server so the config's apply again. A server the API added
     * becomes a configured one when the config lists its address; otherwise it has no config
     * values to return to, and the reset is refused.
     */
    private Server reset(Upstream u, RuntimeState.UpstreamState us, Change.ResetServer r) {
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
        save(state.with(u.name(), us.replace(RuntimeState.ServerState.configured(s.id(), s.address(), ServerPatch.EMPTY))));
        s.update(configured);
        return s;
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
        } catch (OutcomeUnknownException e) {
            LOG.warn("change not applied here, outcome unknown: {}", e.getMessage());
            throw new ChangeRejected(Reason.OUTCOME_UNKNOWN, "change not applied here and its outcome in the shared store "
                    + "is unknown: " + e.getMessage() + "; read the server back before retrying");
        } catch (StateException e) {
            LOG.error("change not applied: {}", e.getMessage());
            throw new ChangeRejected(Reason.NOT_SAVED, "change not applied: " + e.getMessage());
        }
        state = next;
    }
}
