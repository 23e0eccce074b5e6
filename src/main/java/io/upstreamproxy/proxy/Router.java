package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.ProxyConfig.Route;
import io.upstreamproxy.config.RouteAction;
import io.upstreamproxy.route.RouteRequest;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.route.RouteTable;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The routes of one config ({@link RouteTable}, SPEC §12) with their upstreams looked up once.
 * A reload builds a new one; the engine swaps it in whole.
 */
public final class Router {
    private final RouteTable table;
    private final Map<String, Upstream> upstreams = new HashMap<>();

    public Router(List<Route> routes, UpstreamRegistry registry) {
        this(routes, registry, null);
    }

    /** A reload's router: routes unchanged since {@code previous} (null: none) keep their counters. */
    public Router(List<Route> routes, UpstreamRegistry registry, Router previous) {
        this.table = RouteTable.of(routes, previous == null ? null : previous.table);
        for (Route r : routes) {
            for (String name : r.upstreams()) {
                upstreams.put(name, registry.get(name));
            }
        }
    }

    /** The route for a request, or null when none matches. */
    public RouteRule match(RouteRequest request) {
        return table.match(request);
    }

    /** The upstream a matched route names. */
    public Upstream upstream(String name) {
        return upstreams.get(name);
    }

    /**
     * The upstream {@code rule} forwards {@code request} to: the route's own, or for a split the
     * side whose sticky session binds the request (a client stays on the side it was drawn to),
     * else a weighted draw. Null for a redirect or a return.
     */
    public Upstream upstreamFor(RouteRule rule, RequestInfo request) {
        if (rule.route().action() instanceof RouteAction.Split split) {
            for (RouteAction.Share share : split.shares()) {
                Upstream side = upstreams.get(share.upstream());
                if (side != null && side.binds(request)) {
                    return side;
                }
            }
        }
        String name = rule.upstream();
        return name == null ? null : upstreams.get(name);
    }

    /** The routes in evaluation order, with their counters. */
    public List<RouteRule> rules() {
        return table.rules();
    }
}
