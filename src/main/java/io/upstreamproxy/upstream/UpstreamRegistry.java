package io.upstreamproxy.upstream;

import io.upstreamproxy.balance.Balancer;
import io.upstreamproxy.balance.BalancerOptions;
import io.upstreamproxy.balance.Balancers;
import io.upstreamproxy.config.HealthCheckConfig;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ProxyConfig.UpstreamConfig;
import io.upstreamproxy.state.StateMerge;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every upstream by name. The map is an immutable snapshot in a volatile field, replaced whole
 * by {@link #layOut} at start-up and on each reload; an upstream that stays keeps its object
 * (and its servers keep theirs), so whoever holds one sees the reload from its next pick.
 */
public final class UpstreamRegistry {
    private final Clock clock;
    private volatile Map<String, Upstream> upstreams = Map.of();
    private ServerObserver observer = ServerObserver.NONE; // guarded by this

    private UpstreamRegistry(Clock clock) {
        this.clock = clock;
    }

    /** No upstreams yet: {@code ChangeApplier.restore} lays them out once, with their saved ids. */
    public static UpstreamRegistry empty(Clock clock) {
        return new UpstreamRegistry(clock);
    }

    /** Every upstream with its servers, ids in config order, as with no saved state (tests, tools). */
    public static UpstreamRegistry create(ProxyConfig config, Clock clock) {
        UpstreamRegistry r = new UpstreamRegistry(clock);
        r.layOut(config.upstreams().values(), StateMerge.merge(config, null).servers(), true);
        return r;
    }

    /**
     * Publishes the upstreams of {@code configs} with exactly the {@code placed} servers (id and
     * settings, already merged with the saved state). A server whose id and address an upstream
     * already has is kept, with its counters, health verdict and connections, and gets the new
     * settings; the others are new and, after start-up, ramp over their slow_start. Each
     * upstream's balancers are rebuilt once, whatever the number of servers.
     */
    synchronized void layOut(Collection<UpstreamConfig> configs, Map<String, List<StateMerge.Placed>> placed, boolean startup) {
        Map<String, Upstream> next = new LinkedHashMap<>();
        for (UpstreamConfig uc : configs) {
            next.put(uc.name(), place(uc, placed.getOrDefault(uc.name(), List.of()), startup));
        }
        Map<String, Upstream> before = upstreams;
        upstreams = Collections.unmodifiableMap(next);
        before.forEach((name, u) -> {
            if (!next.containsKey(name)) {
                u.retire();
            }
        });
    }

    /**
     * Fleet mode: one running upstream, its config unchanged, gets exactly the {@code placed}
     * servers, as {@link #layOut} would give them after start-up (its balancers rebuilt once).
     */
    synchronized void layOutServers(String name, List<StateMerge.Placed> placed) {
        Upstream u = upstreams.get(name);
        if (u != null) {
            place(u.config(), placed, false);
        }
    }

    /** The upstream of {@code uc} (the running one, or a new one) with exactly the {@code placed} servers. */
    private Upstream place(UpstreamConfig uc, List<StateMerge.Placed> placed, boolean startup) {
        Upstream u = upstreams.get(uc.name());
        if (u == null) {
            u = new Upstream(uc, clock, newBalancer(uc), newBalancer(uc));
            u.observe(observer);
        }
        HealthCheckConfig checksBefore = u.config().healthCheck();
        List<Server> kept = new ArrayList<>();
        List<Server> fresh = new ArrayList<>();
        boolean settingsChanged = false;
        for (StateMerge.Placed p : placed) {
            Server s = u.server(p.id());
            if (s != null && s.address().equals(p.settings().address())) {
                settingsChanged |= !s.config().equals(p.settings());
                s.reconfigure(p.settings());
                if (checksBefore != null && uc.healthCheck() == null) {
                    s.setHealth(HealthStatus.UP); // nothing checks it any more: the last verdict would stick
                    s.setAgent(AgentState.NONE);
                }
                kept.add(s);
            } else {
                s = new Server(p.id(), uc.name(), p.settings(), clock);
                if (!startup) {
                    s.startSlowStart();
                }
                fresh.add(s);
            }
        }
        u.reconfigure(uc, this::newBalancer, kept, fresh, settingsChanged);
        return u;
    }

    private Balancer<Server> newBalancer(UpstreamConfig uc) {
        // The name and options were checked by ConfigLoader, where the config entered.
        return Balancers.create(uc.balancer(), BalancerOptions.of(uc.hashKey(), clock::nanos));
    }

    public Upstream get(String name) {
        return upstreams.get(name);
    }

    public Map<String, Upstream> all() {
        return upstreams;
    }

    /** Adds a watcher of every upstream's servers, now and after a reload (see {@link Upstream#observe}). */
    public synchronized void observe(ServerObserver o) {
        observer = ServerObserver.both(observer, o);
        for (Upstream u : upstreams.values()) {
            u.observe(o);
        }
    }

    public Clock clock() {
        return clock;
    }
}
