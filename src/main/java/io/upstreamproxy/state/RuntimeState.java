package io.upstreamproxy.state;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Operator intent that must survive a restart, as one immutable value: per upstream, the id
 * counter, every server's id with what the API set on it, the servers the API added, and the
 * configured servers the API removed. A change builds a new value; the store saves it whole.
 *
 * <p>Configured servers keep only the fields the API set ({@link ServerPatch}): the config file
 * stays the source of every field nobody changed at run time. Added servers keep all their
 * settings, since the config file knows nothing of them.
 */
public record RuntimeState(Map<String, UpstreamState> upstreams) {
    public static final RuntimeState EMPTY = new RuntimeState(Map.of());

    public RuntimeState {
        upstreams = Collections.unmodifiableMap(new LinkedHashMap<>(upstreams));
    }

    public UpstreamState upstream(String name) {
        return upstreams.get(name);
    }

    /** A copy with one upstream replaced. */
    public RuntimeState with(String name, UpstreamState u) {
        Map<String, UpstreamState> next = new LinkedHashMap<>(upstreams);
        next.put(name, u);
        return new RuntimeState(next);
    }

    /** One upstream's intent; {@code servers} in id order. */
    public record UpstreamState(int nextId, List<ServerState> servers, List<HostPort> removed) {
        public UpstreamState {
            List<ServerState> sorted = new ArrayList<>(servers);
            sorted.sort((a, b) -> Integer.compare(a.id(), b.id()));
            servers = List.copyOf(sorted);
            removed = List.copyOf(removed);
        }

        public ServerState server(int id) {
            for (ServerState s : servers) {
                if (s.id() == id) {
                    return s;
                }
            }
            return null;
        }

        /** A copy where the server with the same id is replaced by {@code s}. */
        public UpstreamState replace(ServerState s) {
            List<ServerState> next = new ArrayList<>(servers);
            next.replaceAll(old -> old.id() == s.id() ? s : old);
            return new UpstreamState(nextId, next, removed);
        }

        /** A copy with an added server (normally {@code id} = {@link #nextId}); the address leaves {@code removed}. */
        public UpstreamState add(int id, ServerConfig settings) {
            List<ServerState> next = new ArrayList<>(servers);
            next.add(ServerState.added(id, settings));
            List<HostPort> stillRemoved = new ArrayList<>(removed);
            stillRemoved.remove(settings.address());
            return new UpstreamState(Math.max(nextId, id + 1), next, stillRemoved);
        }

        /**
         * A copy without the server, its address remembered as removed whether a config or the
         * API brought it: a config listing the address (this one after a restart, or another
         * fleet instance's) must not bring back what the API deleted. Only adding the address
         * again through the API takes it out of {@code removed}.
         */
        public UpstreamState remove(int id) {
            ServerState gone = server(id);
            List<ServerState> next = new ArrayList<>(servers);
            next.remove(gone);
            List<HostPort> nowRemoved = new ArrayList<>(removed);
            if (!nowRemoved.contains(gone.address())) {
                nowRemoved.add(gone.address());
            }
            return new UpstreamState(nextId, next, nowRemoved);
        }
    }

    /**
     * One server: a configured one ({@code added} null, {@code set} = fields the API changed) or
     * one the API added ({@code added} = all its current settings, {@code set} empty).
     */
    public record ServerState(int id, HostPort address, ServerPatch set, ServerConfig added) {

        public static ServerState configured(int id, HostPort address, ServerPatch set) {
            return new ServerState(id, address, set, null);
        }

        public static ServerState added(int id, ServerConfig settings) {
            return new ServerState(id, settings.address(), ServerPatch.EMPTY, settings);
        }

        public boolean isAdded() {
            return added != null;
        }

        /** The settings to run with: an added server's own, else the configured ones with the API's fields on top. */
        public ServerConfig settings(ServerConfig configured) {
            return added != null ? added : set.applyTo(configured);
        }

        /** This server after a PATCH. */
        public ServerState patched(ServerPatch p) {
            return added != null ? added(id, p.applyTo(added)) : configured(id, address, set.then(p));
        }
    }
}
