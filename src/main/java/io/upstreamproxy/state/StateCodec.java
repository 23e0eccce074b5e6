package io.upstreamproxy.state;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.JsonFields;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerConfigJson;
import io.upstreamproxy.config.ServerPatch;
import io.upstreamproxy.config.StrictJson;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The state file's JSON, version 1. Reading checks it as strictly as the config file (same
 * message shape, unknown keys rejected) because a state file that half-applies would put
 * servers in states nobody asked for.
 *
 * <pre>
 * {"version": 1, "upstreams": {"backend": {
 *     "next_id": 4,
 *     "servers": [ {"id": 0, "server": "127.0.0.1:9001", "set": {"drain": true}},
 *                  {"id": 3, "added": {"server": "127.0.0.1:9004", "weight": 2, ...}} ],
 *     "removed": ["127.0.0.1:9003"] }}}
 * </pre>
 */
public final class StateCodec {
    static final int VERSION = 1;

    private StateCodec() {}

    public static String write(RuntimeState state) {
        JsonObject ups = new JsonObject();
        state.upstreams().forEach((name, u) -> {
            JsonArray servers = new JsonArray();
            for (RuntimeState.ServerState s : u.servers()) {
                JsonObject o = new JsonObject();
                o.addProperty("id", s.id());
                servers.add(writeServer(s, o));
            }
            JsonArray removed = new JsonArray();
            u.removed().forEach(a -> removed.add(a.toString()));
            JsonObject o = new JsonObject();
            o.addProperty("next_id", u.nextId());
            o.add("servers", servers);
            o.add("removed", removed);
            ups.add(name, o);
        });
        JsonObject root = new JsonObject();
        root.addProperty("version", VERSION);
        root.add("upstreams", ups);
        return new GsonBuilder().setPrettyPrinting().create().toJson(root) + "\n";
    }

    /** Parses and checks a state file's text; a problem is a {@link ConfigException} naming the JSON path. */
    public static RuntimeState read(String text) {
        JsonFields root = new JsonFields("", StrictJson.parse(text));
        if (!root.has("version")) {
            throw new ConfigException("version", "missing (expected: " + VERSION + ")");
        }
        root.integer("version", VERSION, VERSION, VERSION);
        JsonFields ups = root.object("upstreams");
        Map<String, RuntimeState.UpstreamState> out = new LinkedHashMap<>();
        for (String name : ups.keys()) {
            out.put(name, readUpstream(ups.object(name)));
        }
        ups.finish();
        root.finish();
        return new RuntimeState(out);
    }

    /** One server's fields besides its id, into {@code o}: {@code "server"} and {@code "set"}, or {@code "added"}. */
    public static JsonObject writeServer(RuntimeState.ServerState s, JsonObject o) {
        if (s.isAdded()) {
            o.add("added", ServerConfigJson.write(s.added(), new JsonObject()));
        } else {
            o.addProperty("server", s.address().toString());
            if (!s.set().isEmpty()) {
                o.add("set", s.set().toJson());
            }
        }
        return o;
    }

    /** The reverse of {@link #writeServer}; the caller finishes {@code s} (it may hold more keys, such as the id). */
    public static RuntimeState.ServerState readServer(JsonFields s, int id) {
        if (s.has("added")) {
            return RuntimeState.ServerState.added(id, ServerConfig.read(s.object("added")));
        }
        String text = s.requiredString("server", "\"host:port\"");
        HostPort address = HostPort.parse(text);
        if (address == null) {
            throw new ConfigException(s.pathOf("server"), "\"" + text + "\" (expected: \"host:port\")");
        }
        ServerPatch set = s.has("set") ? ServerPatch.read(s.object("set")) : ServerPatch.EMPTY;
        return RuntimeState.ServerState.configured(id, address, set);
    }

    private static RuntimeState.UpstreamState readUpstream(JsonFields u) {
        if (!u.has("next_id")) {
            throw new ConfigException(u.pathOf("next_id"), "missing (expected: the next server id)");
        }
        int nextId = u.integer("next_id", 0, 0, Integer.MAX_VALUE - 1);
        Set<Integer> ids = new HashSet<>();
        Set<HostPort> addresses = new HashSet<>();
        List<RuntimeState.ServerState> servers = u.objects("servers", (s, i) -> {
            if (!s.has("id")) {
                throw new ConfigException(s.pathOf("id"), "missing (expected: a server id)");
            }
            int id = s.integer("id", 0, 0, nextId - 1);
            if (!ids.add(id)) {
                throw new ConfigException(s.pathOf("id"), id + " (expected: each id once)");
            }
            RuntimeState.ServerState state = readServer(s, id);
            if (!addresses.add(state.address())) {
                throw new ConfigException(s.pathOf("server"), "\"" + state.address() + "\" (expected: each server once per upstream)");
            }
            s.finish();
            return state;
        });
        List<HostPort> removed = new ArrayList<>();
        List<String> words = u.strings("removed", List.of());
        for (int i = 0; i < words.size(); i++) {
            HostPort a = HostPort.parse(words.get(i));
            if (a == null) {
                throw new ConfigException(u.pathOf("removed") + "[" + i + "]", "\"" + words.get(i) + "\" (expected: \"host:port\")");
            }
            removed.add(a);
        }
        u.finish();
        return new RuntimeState.UpstreamState(nextId, servers, removed);
    }
}
