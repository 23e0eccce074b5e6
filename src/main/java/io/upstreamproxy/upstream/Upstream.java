package io.upstreamproxy.upstream;

import io.upstreamproxy.balance.Balancer;
import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig.UpstreamConfig;
import io.upstreamproxy.config.ServerConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A named group of servers and its balancers: one for the primaries, one for the backups,
 * which are asked only when no primary is eligible (as nginx).
 *
 * <p>The server list is an immutable snapshot in a volatile field: a request reads it once and
 * takes no lock; adding or removing a server builds a new list under this upstream's monitor
 * (writers are rare) and hands it to both balancers. A reload replaces the settings, the
 * balancers (when their name or hash key changed) and the whole list in one step
 * ({@link #reconfigure}), so each balancer is rebuilt once however many servers changed.
 *
 * <p>Sticky sessions come before the balancers: a request bound to a server that may take it
 * ({@link Server#admitsBound}, so a draining one still does) goes there; any other goes to the
 * balancers. The bound server is found through an index by sticky value, rebuilt with the list.
 *
 * <p>Ids are not this class's: the run-time state ({@code ChangeApplier}) gives them out, and
 * an upstream keeps the servers it is given.
 */
public final class Upstream {
    /** What a pick reads: the settings and the balancers, replaced together on reload. */
    private record Picking(UpstreamConfig config, Balancer<Server> primary, Balancer<Server> backup) {}

    private final String name;
    private final Clock clock;
    private volatile Picking picking;
    private volatile List<Server> servers = List.of();
    private volatile List<NameStatus> names = List.of();
    private volatile Sticky sticky; // null: no sticky sessions
    private volatile Map<String, Server> bySticky = Map.of(); // servers by sticky value, while sticky is set
    private final OutlierDetector outliers;
    private final UpstreamStats stats = new UpstreamStats();
    private final Admission admission;
    private final RetryBudget retryBudget;
    private ServerObserver observer = ServerObserver.NONE; // guarded by this

    Upstream(UpstreamConfig config, Clock clock, Balancer<Server> primary, Balancer<Server> backup) {
        this.name = config.name();
        this.clock = clock;
        this.picking = new Picking(config, primary, backup);
        this.admission = new Admission(clock, stats);
        this.retryBudget = new RetryBudget(clock);
        this.sticky = config.sticky() == null ? null : Sticky.of(config.sticky(), null, clock);
        this.outliers = new OutlierDetector(config.outlierDetection(), clock, () -> servers);
    }

    public String name() {
        return name;
    }

    public UpstreamConfig config() {
        return picking.config();
    }

    public Clock clock() {
        return clock;
    }

    /** Its host names re-resolved at run time ({@code resolve}) and how that went; empty without. */
    public List<NameStatus> names() {
        return names;
    }

    public void setNames(List<NameStatus> next) {
        names = List.copyOf(next);
    }

    /** Its sticky sessions, or null without. */
    public Sticky sticky() {
        return sticky;
    }

    /** Its outlier detection (counts nothing when off). */
    public OutlierDetector outliers() {
        return outliers;
    }

    /** Retries and requests without an eligible server. */
    public UpstreamStats stats() {
        return stats;
    }

    /** Its requests holding a server, and its queue (SPEC §13). */
    public Admission admission() {
        return admission;
    }

    /** Its retries over the last 10 s against its requests ({@code retry_budget}). */
    public RetryBudget retryBudget() {
        return retryBudget;
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

    /** Adds a server while traffic flows (API): it ramps up over its slow_start, unlike config and restored ones. */
    public synchronized Server addAtRunTime(int id, ServerConfig c) {
        Server s = new Server(id, name, c, clock);
        s.startSlowStart();
        return insert(s);
    }

    /** Adds a server with a given id that does not ramp (config order, restored state). */
    public synchronized Server addWithId(int id, ServerConfig c) {
        return insert(new Server(id, name, c, clock));
    }

    private Server insert(Server s) {
        adopt(s, picking.config(), true);
        List<Server> next = new ArrayList<>(servers);
        next.add(s);
        next.sort((a, b) -> Integer.compare(a.id(), b.id()));
        publish(picking, next);
        observer.added(s);
        return s;
    }

    /** Makes a server this upstream's: weight changes republish here; a new one waits for its first check when checks are mandatory. */
    private void adopt(Server s, UpstreamConfig config, boolean isNew) {
        s.onWeightChange(this::republish);
        s.onRoom(admission::wake);
        s.observe(observer);
        s.judgedBy(outliers);
        if (isNew && config.healthCheck() != null && config.healthCheck().mandatory()) {
            s.setHealth(HealthStatus.CHECKING); // before it is published: no request may reach it unchecked
        }
    }

    /** Removes a server; requests in flight to it finish. Returns false when the id is unknown. */
    public synchronized boolean remove(int id) {
        Server gone = server(id);
        if (gone == null) {
            return false;
        }
        List<Server> next = new ArrayList<>(servers);
        next.remove(gone);
        publish(picking, next);
        observer.removed(gone);
        return true;
    }

    /**
     * A reload: new settings and the complete new server list at once. {@code kept} are servers
     * of this upstream that stay (their settings already replaced, counters and health kept),
     * {@code fresh} the new ones. Balancers are rebuilt when the algorithm or hash key changed,
     * else handed the new list; either way once, and not at all when nothing changed
     * ({@code settingsChanged}: some kept server got other settings).
     */
    synchronized void reconfigure(UpstreamConfig next, Function<UpstreamConfig, Balancer<Server>> newBalancer,
                                  List<Server> kept, List<Server> fresh, boolean settingsChanged) {
        Picking p = picking;
        if (!settingsChanged && fresh.isEmpty() && next.equals(p.config()) && kept.equals(servers)) {
            return; // e.g. a reload that did not touch this upstream, or a DNS answer that did not change
        }
        if (!Objects.equals(p.config().balancer(), next.balancer()) || !Objects.equals(p.config().hashKey(), next.hashKey())) {
            p = new Picking(next, newBalancer.apply(next), newBalancer.apply(next));
        } else {
            p = new Picking(next, p.primary(), p.backup());
        }
        if (!Objects.equals(next.sticky(), picking.config().sticky())) { // picking: the settings until now
            sticky = next.sticky() == null ? null : Sticky.of(next.sticky(), sticky, clock);
        }
        if (!Objects.equals(next.outlierDetection(), picking.config().outlierDetection())) {
            outliers.configure(next.outlierDetection());
        }
        List<Server> all = new ArrayList<>(kept);
        for (Server s : kept) {
            adopt(s, next, false);
        }
        for (Server s : fresh) {
            adopt(s, next, true);
        }
        all.addAll(fresh);
        all.sort((a, b) -> Integer.compare(a.id(), b.id()));
        // By identity, in one pass: a reload of 1,000 servers must not compare every pair.
        Set<Server> stays = Collections.newSetFromMap(new IdentityHashMap<>());
        stays.addAll(kept);
        List<Server> gone = servers.stream().filter(s -> !stays.contains(s)).toList();
        publish(p, all);
        gone.forEach(observer::removed);
        fresh.forEach(observer::added);
    }

    /** This upstream left the config: its watchers hear every server go. */
    synchronized void retire() {
        servers.forEach(observer::removed);
    }

    /** Hands the balancers the same list again, e.g. after a weight change their rings depend on. */
    private synchronized void republish() {
        publish(picking, servers);
    }

    private void publish(Picking p, List<Server> next) {
        List<Server> all = List.copyOf(next);
        p.primary().update(all.stream().filter(s -> !s.config().backup()).toList());
        p.backup().update(all.stream().filter(s -> s.config().backup()).toList());
        servers = all;
        bySticky = p.config().sticky() == null ? Map.of() : index(all);
        picking = p;
        admission.wake(); // a server added, or a reload's higher max_conns: queued requests may go now
    }

    private static Map<String, Server> index(List<Server> all) {
        Map<String, Server> m = new HashMap<>();
        for (Server s : all) {
            m.put(s.stickyValue(), s);
        }
        return m;
    }

    /**
     * Nanoseconds until the first of its servers that are out of rotation only for a time (an
     * ejection, a passive failure's {@code fail_timeout}) comes back by itself; -1 when none is:
     * a queued request sets a timer for it, as nothing else happens when such a time runs out.
     */
    public long nextReturnNanos() {
        long now = clock.nanos();
        long first = -1;
        for (Server s : servers) {
            long in = s.returnsInNanos(now);
            if (in > 0 && (first < 0 || in < first)) {
                first = in;
            }
        }
        return first;
    }

    /**
     * Whether {@code request} is bound (sticky) to a server of this upstream that may take it
     * now: a route's split keeps such a client on this side instead of drawing again.
     */
    public boolean binds(RequestInfo request) {
        return bound(request, clock.nanos()) != null;
    }

    /** The server {@code request} is bound to when it may take the request, else null. */
    private Server bound(RequestInfo request, long now) {
        Sticky st = sticky;
        if (st == null) {
            return null;
        }
        String value = st.boundValue(request);
        Server bound = value == null ? null : bySticky.get(value);
        return bound != null && bound.admitsBound(now) ? bound : null;
    }

    /**
     * Picks a server for a request, skipping those {@code exclude} rejects (already tried): the
     * one it is bound to (sticky) when that one may take it, else an eligible one, primaries
     * first, then backups. Null when none is eligible.
     */
    public Server pick(RequestInfo request, Predicate<Server> exclude) {
        long now = clock.nanos();
        Server bound = bound(request, now);
        if (bound != null && !exclude.test(bound)) {
            return bound;
        }
        Predicate<Server> usable = s -> s.isEligible(now) && !exclude.test(s);
        Picking p = picking;
        Server s = p.primary().pick(request, usable);
        return s != null ? s : p.backup().pick(request, usable);
    }
}
