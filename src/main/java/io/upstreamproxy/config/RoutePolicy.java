package io.upstreamproxy.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What a route changes about the requests it forwards (SPEC §12). Null limits fall back to the
 * {@code proxy} defaults (and {@code retries} to the upstream's).
 */
public record RoutePolicy(boolean stripPrefix, Rewrite rewrite, HeaderOps requestHeaders, HeaderOps responseHeaders,
                          Duration connectTimeout, Duration readTimeout, Duration sendTimeout,
                          Integer retries, Integer bufferBody, Long maxBodySize) {
    public static final RoutePolicy NONE = new RoutePolicy(false, null, HeaderOps.NONE, HeaderOps.NONE,
            null, null, null, null, null, null);

    /** {@code "rewrite": {"regex": "^/old/(.*)", "to": "/new/$1"}}. */
    public record Rewrite(String regex, String to) {}

    /** {@code set} replaces, {@code add} appends, {@code remove} deletes; values may hold variables. */
    public record HeaderOps(Map<String, String> set, Map<String, String> add, List<String> remove) {
        public static final HeaderOps NONE = new HeaderOps(Map.of(), Map.of(), List.of());

        public boolean isEmpty() {
            return set.isEmpty() && add.isEmpty() && remove.isEmpty();
        }
    }
}
