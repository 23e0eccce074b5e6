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
        return List.copyOf(out);
    }
}
