package io.upstreamproxy.route;

import io.upstreamproxy.config.ProxyConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The routes in evaluation order, and the match step (SPEC §12): the first route whose
 * conditions all hold wins, in file order; a table of nothing but path prefixes keeps §3's
 * longest-prefix rule (routes {@code /} and {@code /api/}: {@code /api/x} goes to the second).
 * Immutable: a reload builds a new table and the engine swaps it in whole.
 *
 * <p>Performance choice: a request is tried only against the routes its host can match. Routes
 * that name exact hosts are indexed by host; the others (no host, a wildcard) are tried as
 * well, the two lists merged in file order. With 1,000 sites of one exact host each, a request
 * tries its own site's routes and the host-less ones, not 1,000. The cost: a map per table and
 * the merge (two indexes instead of one).
 *
 * <p>A table of nothing but path prefixes is indexed by prefix instead: a request looks up its
 * path's first {@code n} characters for each distinct prefix length {@code n}, longest first,
 * so it costs a few map lookups however many prefixes there are (RouteMatchBenchmark: at 1,000
 * prefixes the scan took about 5 us a request, about 50 times its cost at 10; indexed, 0.1 us at both).
 */
public final class RouteTable {
    private static final RouteRule[] NONE = new RouteRule[0];
    private final List<RouteRule> rules;
    private final boolean query; // some route matches on the query: parse it once per request
    private final Map<String, RouteRule[]> byHost = new HashMap<>(); // exact host: its routes, in file order
    private final RouteRule[] anyHost;                                 // the routes not in byHost, in file order
    private final Map<String, RouteRule[]> byPrefix; // a prefix-only table: the routes by prefix, in file order; else null
    private final int[] prefixLengths;               // the distinct prefix lengths, longest first

    private RouteTable(List<RouteRule> rules, boolean prefixOnly) {
        this.rules = List.copyOf(rules);
        this.query = rules.stream().anyMatch(RouteRule::matchesQuery);
        Map<String, List<RouteRule>> hosts = new HashMap<>();
        List<RouteRule> other = new ArrayList<>();
        for (RouteRule r : this.rules) {
            List<String> names = r.route().match().hosts();
            if (prefixOnly || names.isEmpty() || names.stream().anyMatch(h -> h.startsWith("*"))) {
                other.add(r);
            } else {
                for (String h : new java.util.LinkedHashSet<>(names)) {
                    hosts.computeIfAbsent(h, k -> new ArrayList<>()).add(r);
                }
            }
        }
        hosts.forEach((h, list) -> byHost.put(h, list.toArray(NONE)));
        this.anyHost = other.toArray(NONE);
        if (prefixOnly) {
            Map<String, List<RouteRule>> prefixes = new HashMap<>();
            for (RouteRule r : this.rules) {
                prefixes.computeIfAbsent(r.prefix(), k -> new ArrayList<>()).add(r);
            }
            byPrefix = new HashMap<>();
            prefixes.forEach((p, list) -> byPrefix.put(p, list.toArray(NONE)));
            prefixLengths = prefixes.keySet().stream().mapToInt(String::length).distinct()
                    .boxed().sorted(Comparator.reverseOrder()).mapToInt(Integer::intValue).toArray();
        } else {
            byPrefix = null;
            prefixLengths = new int[0];
        }
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
        boolean prefixOnly = routes.stream().allMatch(r -> r.match().prefixOnly());
        if (prefixOnly) {
            rules.sort(Comparator.comparingInt(RouteRule::prefixLength).reversed()); // stable: ties stay in file order
        }
        return new RouteTable(rules, prefixOnly);
    }

    /** The routes in the order they are tried. */
    public List<RouteRule> rules() {
        return rules;
    }

    /** The route for {@code r}, or null when none matches. */
    public RouteRule match(RouteRequest r) {
        String host = host(r.host());
        Map<String, String> params = query ? RouteRule.params(r.query()) : Map.of();
        if (byPrefix != null) {
            String path = r.path();
            for (int n : prefixLengths) {
                RouteRule[] candidates = n <= path.length() ? byPrefix.get(path.substring(0, n)) : null;
                if (candidates != null) {
                    for (RouteRule c : candidates) {
                        if (c.matches(r, host, params)) {
                            return c;
                        }
                    }
                }
            }
            return null;
        }
        RouteRule[] own = host == null ? NONE : byHost.getOrDefault(host, NONE);
        RouteRule[] rest = anyHost;
        int i = 0;
        int j = 0;
        while (i < own.length || j < rest.length) {
            // the merge keeps file order; with prefixes only, everything is in rest, in longest-prefix order
            RouteRule next = j >= rest.length || i < own.length && own[i].route().index() < rest[j].route().index() ? own[i++] : rest[j++];
            if (next.matches(r, host, params)) {
                return next;
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
