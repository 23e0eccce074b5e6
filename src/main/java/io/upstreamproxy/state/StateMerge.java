package io.upstreamproxy.state;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ProxyConfig.UpstreamConfig;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerConfigJson;
import io.upstreamproxy.config.ServerPatch;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Start-up and reload: lays the saved state over the configuration, which may have changed since the state
 * was written. Servers are matched by address ({@code host:port}), never by position:
 *
 * <ul>
 *   <li>a configured server found in the state keeps its id and the fields the API set on it;
 *   <li>a configured server the state does not know is new: it gets the next id;
 *   <li>a configured server the API deleted stays deleted while the config still lists it;
 *   <li>a server the API added stays, with its settings, whether or not the config lists it now;
 *   <li>a configured server gone from the config is gone; its id is never given again;
 *   <li>an upstream gone from the config is dropped with all its state.
 * </ul>
 *
 * Example: config {@code [a, b, c]} gives ids a0 b1 c2 (next 3). The API drains b, adds d (id 3)
 * and deletes c. The config is then edited to {@code [b, e]}: after a restart b is 1 and
 * draining, d is 3, e is 4 (new), a is gone, and the next added server gets 5.
 */
public final class StateMerge {
    private StateMerge() {}

    /** A server to run: its id and its settings. */
    public record Placed(int id, ServerConfig settings) {}

    /** The merged state, the servers of every upstream in id order, and what changed, for the log. */
    public record Result(RuntimeState state, Map<String, List<Placed>> servers, List<String> notes) {}

    /** Merges; {@code saved} null means no state was saved yet (config order gives the ids). */
    public static Result merge(ProxyConfig config, RuntimeState saved) {
        RuntimeState stored = saved == null ? RuntimeState.EMPTY : saved;
        Map<String, RuntimeState.UpstreamState> states = new LinkedHashMap<>();
        Map<String, List<Placed>> servers = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        for (UpstreamConfig uc : config.upstreams().values()) {
            RuntimeState.UpstreamState s = stored.upstream(uc.name());
            RuntimeState.UpstreamState merged = s == null ? fresh(uc) : merge(uc, s, notes);
            states.put(uc.name(), merged);
            servers.put(uc.name(), place(uc, merged));
        }
        for (String name : stored.upstreams().keySet()) {
            if (!config.upstreams().containsKey(name)) {
                notes.add("upstream \"" + name + "\" is no longer in the config: its saved state is dropped");
            }
        }
        return new Result(new RuntimeState(states), servers, notes);
    }

    private static RuntimeState.UpstreamState fresh(UpstreamConfig uc) {
        List<RuntimeState.ServerState> servers = new ArrayList<>();
        for (int i = 0; i < uc.servers().size(); i++) {
            servers.add(RuntimeState.ServerState.configured(i, uc.servers().get(i).address(), ServerPatch.EMPTY));
        }
        return new RuntimeState.UpstreamState(uc.servers().size(), servers, List.of());
    }

    private static RuntimeState.UpstreamState merge(UpstreamConfig uc, RuntimeState.UpstreamState s, List<String> notes) {
        String where = "upstream \"" + uc.name() + "\": ";
        Map<HostPort, RuntimeState.ServerState> saved = new LinkedHashMap<>();
        s.servers().forEach(e -> saved.put(e.address(), e));
        Set<HostPort> configured = new HashSet<>();
        uc.servers().forEach(c -> configured.add(c.address()));

        int nextId = s.nextId();
        List<RuntimeState.ServerState> out = new ArrayList<>();
        List<HostPort> removed = new ArrayList<>();
        for (HostPort r : s.removed()) {
            if (configured.contains(r)) {
                removed.add(r);
            }
        }
        for (ServerConfig c : uc.servers()) {
            if (removed.contains(c.address())) {
                continue; // deleted through the API; the config still lists it
            }
            RuntimeState.ServerState e = saved.remove(c.address());
            if (e == null) {
                out.add(RuntimeState.ServerState.configured(nextId, c.address(), ServerPatch.EMPTY));
                notes.add(where + "server " + c.address() + " is new in the config: id " + nextId);
                nextId++;
            } else {
                out.add(e);
                overrides(uc.name(), e, c, notes);
            }
        }
        for (RuntimeState.ServerState e : saved.values()) {
            if (e.isAdded()) {
                out.add(e);
            } else {
                notes.add(where + "server " + e.address() + " (id " + e.id() + ") is no longer in the config: removed");
            }
        }
        return new RuntimeState.UpstreamState(nextId, out, removed);
    }

    /**
     * One note per field where the saved run-time value wins over a different config value:
     * {@code backend server 1 (127.0.0.1:9002) weight: config 2, run-time 5 kept}. An operator
     * who edited the config must learn why the edit shows no effect (and that PATCH
     * {@code {"reset": true}} clears the run-time values).
     */
    private static void overrides(String upstream, RuntimeState.ServerState e, ServerConfig c, List<String> notes) {
        JsonObject runTime = e.isAdded() ? ServerConfigJson.write(e.added(), new JsonObject()) : e.set().toJson();
        JsonObject configured = ServerConfigJson.write(c, new JsonObject());
        for (Map.Entry<String, JsonElement> field : runTime.entrySet()) {
            JsonElement fromConfig = configured.get(field.getKey());
            if (fromConfig != null && !fromConfig.equals(field.getValue())) {
                notes.add(upstream + " server " + e.id() + " (" + e.address() + ") " + field.getKey() + ": config "
                        + fromConfig.getAsString() + ", run-time " + field.getValue().getAsString() + " kept");
            }
        }
    }

    private static List<Placed> place(UpstreamConfig uc, RuntimeState.UpstreamState merged) {
        Map<HostPort, ServerConfig> configured = new LinkedHashMap<>();
        uc.servers().forEach(c -> configured.put(c.address(), c));
        List<Placed> out = new ArrayList<>();
        for (RuntimeState.ServerState e : merged.servers()) {
            out.add(new Placed(e.id(), e.settings(configured.get(e.address()))));
        }
        return List.copyOf(out);
    }
}
