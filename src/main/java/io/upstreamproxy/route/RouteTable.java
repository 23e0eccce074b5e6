package io.upstreamproxy.route;

import io.upstreamproxy.config.ProxyConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The routes in evaluation order, and the match step (SPEC §12): the first route whose
 * conditions all hold wins, in file order; a table of nothing but path prefixes keeps §3's
 * longest-prefix rule (routes {@code /} and {@code /api/}: {@code /api/x} goes to the second).
 * Immutable: a reload builds a new table and the engine swaps it in whole.
 */
public final class RouteTable {
    private final List<RouteRule> rules;
    private final boolean query; // some route matches on the query: parse it once per request

    private RouteTable(List<RouteRule> rules) {
        this.rules = List.copyOf(rules);
        this.query = rules.stream().anyMatch(RouteRule::matchesQuery);
    }

    public static RouteTable of(List<ProxyConfig.Route> routes) {
        return of(routes, null);
    }

    /**
     * A reload's table: a route that is in {@code previous} unchanged (conditions, action and
     * policy; its place may differ) keeps counting where it was, the others start from zero.
     */
    public static RouteTable of(List<ProxyConfig.Route> routes, RouteTable previous) {
        List<RouteRule> rules = new ArrayList<>();
        for (ProxyConfig.Route r : routes) {
            RouteRule.Counters counters = null;
            if (previous != null) {
                for (RouteRule old : previous.rules) {
                    if (old.sameAs(r)) {
                        counters = old.counters();
                        break;
                    }
                }
            }
            rules.add(new RouteRule(r, counters != null ? counters : new RouteRule.Counters()));
        }
        if (routes.stream().allMatch(r -> r.match().prefixOnly())) {
            rules.sort(Comparator.comparingInt(RouteRule::prefixLength).reversed()); // stable: ties stay in file order
        }
        return new RouteTable(rules);
    }

    /** The routes in the order they are tried. */
    public List<RouteRule> rules() {
        return rules;
    }

    /** The route for {@code r}, or null when none matches. */
    public RouteRule match(RouteRequest r) {
        String host = host(r.host());
        Map<String, String> params = query ? RouteRule.params(r.query()) : Map.of();
        for (RouteRule rule : rules) {
            if (rule.matches(r, host, params)) {
                return rule;
            }
        }
        return null;
    }

    /** {@code Example.COM:8443} to {@code example.com}, {@code [::1]:80} to {@code [::1]}; null stays null. */
    public static String host(String authority) {
        if (authority == null || authority.isEmpty()) {
            return null;
        }
        String h = authority;
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            h = end < 0 ? h : h.substring(0, end + 1);
        } else {
            int colon = h.indexOf(':');
            h = colon < 0 ? h : h.substring(0, colon);
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h.toLowerCase(Locale.ROOT);
    }
}
