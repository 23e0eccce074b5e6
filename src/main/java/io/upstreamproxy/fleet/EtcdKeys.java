package io.upstreamproxy.fleet;

import com.google.gson.JsonObject;
import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.JsonFields;
import io.upstreamproxy.config.StrictJson;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.state.StateCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The key layout under the fleet's prefix (docs/fleet.md), and the codec between it and
 * {@link RuntimeState}. Keys here are relative to the prefix.
 *
 * <pre>
 * upstreams/backend/next_id              6
 * upstreams/backend/servers/0            {"server":"10.0.0.1:80","set":{"drain":true}}
 * upstreams/backend/servers/5            {"added":{"server":"10.0.0.9:80","weight":2,...}}
 * upstreams/backend/removed/10.0.0.3:80  10.0.0.3:80
 * instances/proxy-a                      {"instance":"proxy-a","revision":812,...}   (leased)
 * </pre>
 *
 * One key per server, so changes to different servers touch different keys and never conflict;
 * {@code next_id} is touched only by additions, which must be serialised anyway (no id twice).
 * Values are written in one canonical form, so "what etcd holds" and "what this instance would
 * write" compare as strings.
 */
final class EtcdKeys {
    static final String UPSTREAMS = "upstreams/";
    static final String INSTANCES = "instances/";
    private static final String NEXT_ID = "next_id";
    private static final String SERVERS = "servers/";
    private static final String REMOVED = "removed/";

    private EtcdKeys() {}

    static String nextIdKey(String upstream) {
        return UPSTREAMS + upstream + "/" + NEXT_ID;
    }

    /** Every key and canonical value of a state. */
    static SortedMap<String, String> flatten(RuntimeState state) {
        SortedMap<String, String> out = new TreeMap<>();
        state.upstreams().forEach((name, u) -> flatten(name, u, out));
        return out;
    }

    static void flatten(String name, RuntimeState.UpstreamState u, Map<String, String> out) {
        String base = UPSTREAMS + name + "/";
        out.put(base + NEXT_ID, Integer.toString(u.nextId()));
        for (RuntimeState.ServerState s : u.servers()) {
            out.put(base + SERVERS + s.id(), StateCodec.writeServer(s, new JsonObject()).toString());
        }
        for (HostPort r : u.removed()) {
            out.put(base + REMOVED + r, r.toString());
        }
    }

    /** The upstream a state key belongs to; null for any other key. */
    static String upstreamOf(String key) {
        if (!key.startsWith(UPSTREAMS)) {
            return null;
        }
        int slash = key.indexOf('/', UPSTREAMS.length());
        return slash < 0 ? null : key.substring(UPSTREAMS.length(), slash);
    }

    /**
     * A value as this instance would write it, so equal meaning compares equal.
     *
     * @throws ConfigException when the key or value is not one of the layout's
     */
    static String canonical(String key, String value) {
        String name = upstreamOf(key);
        if (name == null) {
            return value; // instances/: free-form JSON, only read for the API
        }
        String rest = key.substring(UPSTREAMS.length() + name.length() + 1);
        if (rest.equals(NEXT_ID)) {
            return Integer.toString(nextId(key, value));
        }
        if (rest.startsWith(SERVERS)) {
            return StateCodec.writeServer(server(key, rest, value), new JsonObject()).toString();
        }
        if (rest.startsWith(REMOVED)) {
            return removed(key, rest).toString();
        }
        throw new ConfigException(key, "unknown key (expected: next_id, servers/ID or removed/HOST:PORT)");
    }

    /**
     * One upstream's intent from its keys (canonical values, relative keys); null when it has no
     * {@code next_id}, i.e. nobody has seeded it yet.
     */
    static RuntimeState.UpstreamState intent(String name, Map<String, String> keys) {
        String base = UPSTREAMS + name + "/";
        String next = keys.get(base + NEXT_ID);
        if (next == null) {
            return null;
        }
        int nextId = nextId(base + NEXT_ID, next);
        List<RuntimeState.ServerState> servers = new ArrayList<>();
        List<HostPort> removed = new ArrayList<>();
        keys.forEach((key, value) -> {
            if (!key.startsWith(base)) {
                return;
            }
            String rest = key.substring(base.length());
            if (rest.startsWith(SERVERS)) {
                servers.add(server(key, rest, value));
            } else if (rest.startsWith(REMOVED)) {
                removed.add(removed(key, rest));
            }
        });
        return new RuntimeState.UpstreamState(nextId, servers, removed);
    }

    private static int nextId(String key, String value) {
        try {
            int n = Integer.parseInt(value);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ConfigException(key, "\"" + value + "\" (expected: the next server id, 0 or more)");
    }

    private static RuntimeState.ServerState server(String key, String rest, String value) {
        int id;
        try {
            id = Integer.parseInt(rest.substring(SERVERS.length()));
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "not a server id (expected: servers/0, servers/1, ...)");
        }
        JsonFields f = new JsonFields(key, StrictJson.parse(value));
        RuntimeState.ServerState s = StateCodec.readServer(f, id);
        f.finish();
        return s;
    }

    private static HostPort removed(String key, String rest) {
        HostPort a = HostPort.parse(rest.substring(REMOVED.length()));
        if (a == null) {
            throw new ConfigException(key, "not an address (expected: removed/HOST:PORT)");
        }
        return a;
    }
}
