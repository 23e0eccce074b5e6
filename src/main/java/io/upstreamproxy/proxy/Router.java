package io.upstreamproxy.proxy;

import io.upstreamproxy.config.ProxyConfig.Route;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.util.Comparator;
import java.util.List;

/**
 * Maps a request path to an upstream: the longest configured prefix wins, as nginx's prefix
 * locations. Prefixes are plain string prefixes ({@code /api} also matches {@code /apix}).
 */
public final class Router {
    private record Entry(String prefix, Upstream upstream) {}

    private final List<Entry> entries;

    public Router(List<Route> routes, UpstreamRegistry registry) {
        this.entries = routes.stream()
                .map(r -> new Entry(r.path(), registry.get(r.upstream())))
                .sorted(Comparator.comparingInt((Entry e) -> e.prefix.length()).reversed())
                .toList();
    }

    /** The upstream for a path, or null when no route matches. */
    public Upstream route(String path) {
        for (Entry e : entries) {
            if (path.startsWith(e.prefix)) {
                return e.upstream;
            }
        }
        return null;
    }
}
