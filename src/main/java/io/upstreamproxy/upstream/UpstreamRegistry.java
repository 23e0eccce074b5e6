package io.upstreamproxy.upstream;

import io.upstreamproxy.balance.Balancer;
import io.upstreamproxy.balance.BalancerOptionException;
import io.upstreamproxy.balance.BalancerOptions;
import io.upstreamproxy.balance.Balancers;
import io.upstreamproxy.config.ConfigException;
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

    /** Builds every upstream with its servers (ids in config order); unknown balancers are config errors. */
    public static UpstreamRegistry create(ProxyConfig config, Clock clock) {
        Map<String, Upstream> map = new LinkedHashMap<>();
        for (UpstreamConfig uc : config.upstreams().values()) {
            map.put(uc.name(), create(uc, clock));
        }
        return new UpstreamRegistry(Collections.unmodifiableMap(map), clock);
    }

    static Upstream create(UpstreamConfig uc, Clock clock) {
        BalancerOptions options = BalancerOptions.of(uc.hashKey(), clock::nanos);
        Balancer<Server> primary;
        Balancer<Server> backup;
        try {
            primary = Balancers.create(uc.balancer(), options);
            backup = Balancers.create(uc.balancer(), options);
        } catch (BalancerOptionException e) {
            throw new ConfigException("upstreams." + uc.name() + "." + e.option(), e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("upstreams." + uc.name() + ".balancer", e.getMessage());
        }
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

    public Clock clock() {
        return clock;
    }
}
