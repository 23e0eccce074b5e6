package io.upstreamproxy.upstream;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.state.StateMerge;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes one live upstream match a shared intent (fleet mode's {@link Change.SyncUpstream}): servers
 * the intent no longer has leave (requests in flight finish), new ones join with slow start,
 * changed ones take their new settings, untouched ones keep their counters and health.
 *
 * <p>A configured server is run with this instance's config for its address and the intent's
 * run-time fields on top; one whose address this instance's config does not list is not run
 * here (the fleet layer logs such differences once, when it joins).
 */
final class IntentSync {
    private static final Logger LOG = LoggerFactory.getLogger(IntentSync.class);

    private IntentSync() {}

    /**
     * Publishes, then saves; the caller holds the state lock. The servers are laid out as a
     * reload lays them out ({@link UpstreamRegistry#layOutServers}): the upstream is rebuilt
     * once, whatever the number of servers that changed. Unlike an API change, the intent is
     * already durable (etcd committed it), and the local save only refreshes the state file
     * cache: the live servers need not wait for its fsyncs. Should the save fail, the caller's
     * state still differs from the intent and the next sync tries again.
     */
    static void apply(UpstreamRegistry registry, Upstream u, RuntimeState.UpstreamState intent, Runnable save) {
        Map<HostPort, ServerConfig> configured = new HashMap<>();
        u.config().servers().forEach(c -> configured.put(c.address(), c));
        List<StateMerge.Placed> placed = new ArrayList<>();
        for (RuntimeState.ServerState t : intent.servers()) {
            ServerConfig want = settings(t, configured);
            if (want != null) {
                placed.add(new StateMerge.Placed(t.id(), want));
            }
        }
        for (Server s : u.servers()) {
            if (placed.stream().noneMatch(p -> p.id() == s.id() && p.settings().address().equals(s.address()))) {
                LOG.info("fleet: upstream \"{}\" server {} ({}) removed", u.name(), s.id(), s.key());
            }
        }
        for (StateMerge.Placed p : placed) {
            Server s = u.server(p.id());
            if (s == null || !s.address().equals(p.settings().address())) {
                LOG.info("fleet: upstream \"{}\" server {} ({}) added", u.name(), p.id(), p.settings().address());
            } else if (!s.config().equals(p.settings())) {
                LOG.info("fleet: upstream \"{}\" server {} ({}) now {}", u.name(), p.id(), p.settings().address(), p.settings());
            }
        }
        registry.layOutServers(u.name(), placed);
        save.run();
    }

    private static ServerConfig settings(RuntimeState.ServerState t, Map<HostPort, ServerConfig> configured) {
        if (t.isAdded()) {
            return t.added();
        }
        ServerConfig base = configured.get(t.address());
        return base == null ? null : t.settings(base);
    }
}
