package io.upstreamproxy.web;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.util.List;

/**
 * Whether an outer balancer or an orchestrator should send this process traffic: not once a
 * stop has begun ({@link #stopping}), and only while at least one route's upstream has a server
 * in rotation. Capacity of the moment (a server at {@code max_conns}) does not count against
 * readiness: a probe answer that flapped with load would take a busy proxy out of its balancer.
 * A probe reads two volatile fields and walks the routes' servers, nothing more.
 */
public final class Readiness {
    private final UpstreamRegistry registry;
    private volatile List<ProxyConfig.Route> routes;
    private volatile boolean stopping;

    Readiness(UpstreamRegistry registry, List<ProxyConfig.Route> routes) {
        this.registry = registry;
        this.routes = routes;
    }

    /** A reload's routes. */
    void reconfigure(List<ProxyConfig.Route> next) {
        routes = next;
    }

    /** From now on {@link #reason} says "stopping": the first step of a graceful stop. */
    public void stopping() {
        stopping = true;
    }

    /** True from the first step of a stop on. */
    public boolean isStopping() {
        return stopping;
    }

    /** Null when ready, else why not, as the probe's answer says it. */
    public String reason() {
        if (stopping) {
            return "stopping";
        }
        long now = System.nanoTime();
        for (ProxyConfig.Route r : routes) {
            for (String name : r.upstreams()) {
                Upstream u = registry.get(name);
                if (u != null) {
                    for (Server s : u.servers()) {
                        if (s.isInRotation(now)) {
                            return null;
                        }
                    }
                }
            }
        }
        return "no route has a server in rotation";
    }
}
