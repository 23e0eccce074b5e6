package io.upstreamproxy.upstream;

import io.upstreamproxy.balance.Balancer;
import io.upstreamproxy.balance.BalancerOptions;
import io.upstreamproxy.balance.Balancers;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ProxyConfig.UpstreamConfig;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Every upstream by name, built once from the config; upstreams themselves change at run time. */
public final class UpstreamRegistry {
    private final Map<String, Upstream> upstreams;
    private final Clock clock;

    private UpstreamRegistry(Map<String, Upstream> upstreams, Clock clock) {
        this.upstreams = upstreams;
        this.clock = clock;
    }

    /** Builds every upstream with its servers (ids in config order) from a config ConfigLoader checked. */
    public static UpstreamRegistry create(ProxyConfig config, Clock clock) {
        Map<String, Upstream> map = new LinkedHashMap<>();
        for (UpstreamConfig uc : config.upstreams().values()) {
            map.put(uc.name(), create(uc, clock));
        }
        return new UpstreamRegistry(Collections.unmodifiableMap(map), clock);
    }

    static Upstream create(UpstreamConfig uc, Clock clock) {
        BalancerOptions options = BalancerOptions.of(uc.hashKey(), clock::nanos);
        // The name and options were checked by ConfigLoader, where the config entered.
        Balancer<Server> primary = Balancers.create(uc.balancer(), options);
        Balancer<Server> backup = Balancers.create(uc.balancer(), options);
        Upstream u = new Upstream(uc, clock, primary, backup);
        for (int i = 0; i < uc.servers().size(); i++) {
            u.addWithId(i, uc.servers().get(i));
        }
        return u;
    }

    public Upstream get(String name) {
        return upstreams.get(name);
    }

    public Map<String, Upstream> all() {
        return upstreams;
    }

    /** Adds a watcher of every upstream's servers (see {@link Upstream#observe}). */
    public void observe(ServerObserver o) {
        for (Upstream u : upstreams.values()) {
            u.observe(o);
        }
    }

    public Clock clock() {
        return clock;
    }
}
