package io.upstreamproxy.route;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.RouteAction;
import io.upstreamproxy.config.RouteMatch;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;

/**
 * One configured route, compiled: its regexes built once, its counters. Immutable but for the
 * counters (LongAdders: every request of the route adds to them, from any thread).
 */
public final class RouteRule {
    private final ProxyConfig.Route route;
    private final String prefix;      // a plain prefix, or null
    private final String exact;       // an exact path, or null
    private final Pattern regex;      // a path regex, or null
    private final List<HeaderRule> headers;
    private final List<HeaderRule> query;
    private final Pattern rewrite;
    private final Counters counters;

    /** A route's counts: kept across a reload for a route that did not change. */
    static final class Counters {
        final LongAdder requests = new LongAdder();
        final LongAdder[] responses = {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()};
    }

    private record HeaderRule(String name, String exact, Pattern regex) {
        boolean test(String value) {
            if (value == null) {
                return false;
            }
            if (exact != null) {
                return exact.equals(value);
            }
            return regex == null || regex.matcher(value).find();
        }
    }

    RouteRule(ProxyConfig.Route route, Counters counters) {
        this.route = route;
        this.counters = counters;
        RouteMatch m = route.match();
        String p = m.path();
        this.prefix = p == null ? null : p.startsWith("=") || p.startsWith("~") ? null : p;
        this.exact = p != null && p.startsWith("=") ? p.substring(1) : null;
        this.regex = p != null && p.startsWith("~") ? Pattern.compile(p.substring(1)) : null;
        this.headers = rules(m.headers());
        this.query = rules(m.query());
        this.rewrite = route.policy().rewrite() == null ? null : Pattern.compile(route.policy().rewrite().regex());
    }

    private static List<HeaderRule> rules(Map<String, RouteMatch.ValueRule> rules) {
        List<HeaderRule> out = new ArrayList<>();
        rules.forEach((name, r) -> out.add(new HeaderRule(name, r.exact(), r.regex() == null ? null : Pattern.compile(r.regex()))));
        return List.copyOf(out);
    }

    public ProxyConfig.Route route() {
        return route;
    }

    Counters counters() {
        return counters;
    }

    /** The same route whatever its place in the file: same conditions, action and policy. */
    boolean sameAs(ProxyConfig.Route other) {
        return route.match().equals(other.match()) && route.action().equals(other.action()) && route.policy().equals(other.policy());
    }

    /** The plain path prefix, "" without a path (a prefix-only table's index key). */
    String prefix() {
        return prefix == null ? "" : prefix;
    }

    /** The length of the plain prefix (0 without a path): the longest-prefix rule's order. */
    int prefixLength() {
        return prefix == null ? 0 : prefix.length();
    }

    boolean matchesQuery() {
        return !query.isEmpty();
    }

    /** Every condition holds; {@code host} is already lower-cased and without its port. */
    boolean matches(RouteRequest r, String host, Map<String, String> params) {
        RouteMatch m = route.match();
        if (!m.hosts().isEmpty() && !hostMatches(m.hosts(), host)) {
            return false;
        }
        String path = r.path();
        if (prefix != null && !path.startsWith(prefix)
                || exact != null && !exact.equals(path)
                || regex != null && !regex.matcher(path).find()) {
            return false;
        }
        if (!m.methods().isEmpty() && !m.methods().contains(r.method())) {
            return false;
        }
        if (!m.listen().isEmpty() && (r.listener() == null || !m.listen().contains(r.listener()))) { // List.of: contains(null) throws
            return false;
        }
        for (HeaderRule h : headers) {
            if (!h.test(r.header(h.name))) {
                return false;
            }
        }
        for (HeaderRule q : query) {
            if (!q.test(params.get(q.name))) {
                return false;
            }
        }
        return true;
    }

    private static boolean hostMatches(List<String> hosts, String host) {
        if (host == null) {
            return false;
        }
        for (String h : hosts) {
            if (h.equals("*") || h.equals(host)
                    || h.startsWith("*.") && host.endsWith(h.substring(1)) && host.length() > h.length() - 1) {
                return true;
            }
        }
        return false;
    }

    /**
     * The upstream for this request: the route's own, or a weighted draw among a split's
     * (weights 95 and 5: 95 of 100 draws on average go to the first). Null for a redirect or a return.
     */
    public String upstream() {
        RouteAction a = route.action();
        if (a instanceof RouteAction.Forward f) {
            return f.upstream();
        }
        if (a instanceof RouteAction.Split s) {
            int draw = ThreadLocalRandom.current().nextInt(s.total());
            for (RouteAction.Share share : s.shares()) {
                draw -= share.weight();
                if (draw < 0) {
                    return share.upstream();
                }
            }
        }
        return null;
    }

    /**
     * The path to forward: {@code strip_prefix} takes the route's prefix off ({@code /v1/} and
     * {@code /v1/users}: {@code /users}), {@code rewrite} replaces the regex's first match
     * ({@code ^/old/(.*)} to {@code /new/$1}: {@code /old/a} becomes {@code /new/a}); unchanged otherwise.
     */
    public String rewrite(String path) {
        if (route.policy().stripPrefix() && prefix != null && path.startsWith(prefix)) {
            String rest = path.substring(prefix.length());
            return rest.startsWith("/") ? rest : "/" + rest;
        }
        if (rewrite != null) {
            return rewrite.matcher(path).replaceFirst(route.policy().rewrite().to());
        }
        return path;
    }

    /** Whether {@link #rewrite} may change a path. */
    public boolean rewrites() {
        return route.policy().stripPrefix() || rewrite != null;
    }

    public void requested() {
        counters.requests.increment();
    }

    public void responded(int status) {
        int c = status / 100 - 1;
        if (c >= 0 && c < counters.responses.length) {
            counters.responses[c].increment();
        }
    }

    public long requests() {
        return counters.requests.sum();
    }

    /** Responses of class {@code n}xx ({@code n} 1 to 5). */
    public long responses(int n) {
        return counters.responses[n - 1].sum();
    }

    /** The query's parameters, decoded, first value of each name. */
    static Map<String, String> params(String query) {
        if (query == null || query.isEmpty()) {
            return Map.of();
        }
        Map<String, String> out = new java.util.HashMap<>();
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            out.putIfAbsent(name, value);
        }
        return out;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s; // a malformed escape is compared as sent
        }
    }
}
