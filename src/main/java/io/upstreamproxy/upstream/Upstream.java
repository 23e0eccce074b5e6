package io.upstreamproxy.upstream;

import io.upstreamproxy.balance.Balancer;
import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig.UpstreamConfig;
import io.upstreamproxy.config.ServerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A named group of servers and its balancers: one for the primaries, one for the backups,
 * which are asked only when no primary is eligible (as nginx).
 *
 * <p>The server list is an immutable snapshot in a volatile field: a request reads it once and
 * takes no lock; adding or removing a server builds a new list under this upstream's monitor
 * (writers are rare) and hands it to both balancers.
 */
public final class Upstream {
    private final UpstreamConfig config;
    private final Clock clock;
    private final Balancer<Server> primary;
    private final Balancer<Server> backup;
    private final UpstreamStats stats = new UpstreamStats();
    private volatile List<Server> servers = List.of();
    private int nextId;
    private ServerObserver observer = ServerObserver.NONE; // guarded by this

    Upstream(UpstreamConfig config, Clock clock, Balancer<Server> primary, Balancer<Server> backup) {
        this.config = config;
        this.clock = clock;
        this.primary = primary;
        this.backup = backup;
    }

    public String name() {
        return config.name();
    }

    public UpstreamConfig config() {
        return config;
    }

    public Clock clock() {
        return clock;
    }

    /** Retries and requests without an eligible server. */
    public UpstreamStats stats() {
        return stats;
    }

    /** Every server, in id order. */
    public List<Server> servers() {
        return servers;
    }

    public Server server(int id) {
        for (Server s : servers) {
            if (s.id() == id) {
                return s;
            }
        }
        return null;
    }

    public Server server(HostPort address) {
        for (Server s : servers) {
            if (s.address().equals(address)) {
                return s;
            }
        }
        return null;
    }

    /**
     * Adds a watcher of this upstream's servers: it hears {@code added} for every server there
     * now and every server added later, and everything those servers report.
     */
    public synchronized void observe(ServerObserver o) {
        observer = ServerObserver.both(observer, o);
        for (Server s : servers) {
            s.observe(observer);
            o.added(s);
        }
    }

    /** The id the next added server gets; ids are never reused. */
    public synchronized int nextId() {
        return nextId;
    }

    /** Restores the id counter (from the state file); it only moves forward. */
    public synchronized void advanceNextId(int atLeast) {
        nextId = Math.max(nextId, atLeast);
    }

    /** Adds a server with the next id, as the API does; it ramps up over its slow_start. */
    public synchronized Server add(ServerConfig c) {
        return addAtRunTime(nextId, c);
    }

    /** Adds a server while traffic flows (API): it ramps up over its slow_start, unlike config and restored ones. */
    public synchronized Server addAtRunTime(int id, ServerConfig c) {
        Server s = new Server(id, name(), c, clock);
        s.startSlowStart();
        return insert(s);
    }

    /** Adds a server with a given id (config order, restored state); the counter moves past it. */
    public synchronized Server addWithId(int id, ServerConfig c) {
        return insert(new Server(id, name(), c, clock));
    }

    private Server insert(Server s) {
        int id = s.id();
        s.onWeightChange(this::republish);
        if (config.healthCheck() != null && config.healthCheck().mandatory()) {
            s.setHealth(HealthStatus.CHECKING); // before it is published: no request may reach it unchecked
        }
        List<Server> next = new ArrayList<>(servers);
        next.add(s);
        next.sort((a, b) -> Integer.compare(a.id(), b.id()));
        nextId = Math.max(nextId, id + 1);
        s.observe(observer);
        publish(next);
        observer.added(s);
        return s;
    }

    /** Removes a server; requests in flight to it finish. Returns false when the id is unknown. */
    public synchronized boolean remove(int id) {
        List<Server> next = new ArrayList<>(servers);
        Server gone = server(id);
        if (gone == null) {
            return false;
        }
        next.remove(gone);
        publish(next);
        observer.removed(gone);
        return true;
    }

    /** Hands the balancers the same list again, e.g. after a weight change their rings depend on. */
    private synchronized void republish() {
        publish(servers);
    }

    private void publish(List<Server> next) {
        List<Server> all = List.copyOf(next);
        primary.update(all.stream().filter(s -> !s.config().backup()).toList());
        backup.update(all.stream().filter(s -> s.config().backup()).toList());
        servers = all;
    }

    /**
     * Picks an eligible server for a request, skipping those {@code exclude} rejects (already
     * tried); primaries first, then backups. Null when none is eligible.
     */
    public Server pick(RequestInfo request, Predicate<Server> exclude) {
        long now = clock.nanos();
        Predicate<Server> usable = s -> s.isEligible(now) && !exclude.test(s);
        Server s = primary.pick(request, usable);
        return s != null ? s : backup.pick(request, usable);
    }
}
