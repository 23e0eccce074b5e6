package io.upstreamproxy.config;

import java.util.ArrayList;
import java.util.List;

/**
 * What is valid but probably not meant: an upstream with no servers, an empty route list.
 * Logged at start-up and reload, printed by {@code --check}; never an error, since an empty
 * upstream filled through the API later is a legitimate way to run.
 */
public final class ConfigWarnings {
    private ConfigWarnings() {}

    public static List<String> of(ProxyConfig config) {
        List<String> out = new ArrayList<>();
        config.upstreams().values().forEach(u -> {
            if (u.servers().isEmpty()) {
                out.add("upstreams." + u.name() + ".servers: empty: requests routed to \"" + u.name()
                        + "\" get 503 until servers are added through the API");
            }
        });
        if (config.routes().isEmpty()) {
            out.add("routes: empty: every proxied request gets 404");
        }
        out.addAll(shadowed(config.routes()));
        return List.copyOf(out);
    }

    /**
     * Routes that can never match in file order: after a catch-all, or after a route with the
     * very same conditions. (Where the longest-prefix rule applies, a catch-all shadows nothing.)
     */
    static List<String> shadowed(List<ProxyConfig.Route> routes) {
        List<String> out = new ArrayList<>();
        if (routes.stream().allMatch(r -> r.match().prefixOnly())) {
            return out;
        }
        for (int j = 1; j < routes.size(); j++) {
            for (int i = 0; i < j; i++) {
                ProxyConfig.Route earlier = routes.get(i);
                if (earlier.match().catchAll() || earlier.match().equals(routes.get(j).match())) {
                    out.add("routes[" + routes.get(j).index() + "]: never matches: routes[" + earlier.index() + "] before it "
                            + (earlier.match().catchAll() ? "matches every request" : "has the same conditions"));
                    break;
                }
            }
        }
        return out;
    }
}
