package io.upstreamproxy.config;

import java.util.List;
import java.util.Map;

/**
 * A route's conditions, all of which must hold (SPEC §12). Empty lists and maps, and a null
 * {@code path}, match every request.
 *
 * @param hosts   exact names or {@code *.example.com} wildcards, lower-cased, without a port
 * @param path    a prefix ({@code /api/}), an exact path ({@code =/healthz}) or a regex ({@code ~^/img/})
 * @param methods upper-cased method names
 * @param headers header name to its rule
 * @param query   query parameter name to its rule
 * @param listen  listener names
 */
public record RouteMatch(List<String> hosts, String path, List<String> methods, Map<String, ValueRule> headers,
                         Map<String, ValueRule> query, List<String> listen) {

    /** Only a path prefix, or nothing at all: such routes may keep the longest-prefix rule. */
    public boolean prefixOnly() {
        return hosts.isEmpty() && methods.isEmpty() && headers.isEmpty() && query.isEmpty() && listen.isEmpty()
                && (path == null || (!path.startsWith("=") && !path.startsWith("~")));
    }

    /** Matches every request: no condition, or only the prefix {@code /}. */
    public boolean catchAll() {
        return prefixOnly() && (path == null || path.equals("/"));
    }

    /**
     * A header's or query parameter's rule: {@code exact} value, or {@code regex} (written
     * {@code "~..."}), or both null for "present" (written {@code true}).
     */
    public record ValueRule(String exact, String regex) {
        public static final ValueRule PRESENT = new ValueRule(null, null);
    }
}
