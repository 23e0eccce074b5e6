package io.upstreamproxy.runtime;

import io.upstreamproxy.config.ConfigWarnings;
import io.upstreamproxy.config.Durations;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.state.StateException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the configuration and applies it while traffic flows (SIGHUP, {@code POST /api/reload}).
 *
 * <p>Order: read and check the file; merge the run-time state into it and save that
 * ({@code ChangeApplier.reload}, the same path as start-up), which publishes the upstreams;
 * then hand routes, access rules, status page and proxy settings to the running servlets. An
 * invalid file, or a state that cannot be saved, stops before anything changed. What only a
 * restart can change (the listener, the API and status page mount paths, the state file, fleet) keeps
 * its running value and is reported.
 *
 * <p>One reload at a time (synchronized): a second SIGHUP waits for the first to finish.
 */
public final class Reloader {
    private static final Logger LOG = LoggerFactory.getLogger(Reloader.class);

    /** What a reload did: applied or not, the one-line message, and what waits for a restart. */
    public record Outcome(boolean applied, String message, List<String> restartNeeded) {}

    private final Supplier<ProxyConfig> source;
    private final Consumer<ProxyConfig> applyUpstreams;
    private final Consumer<ProxyConfig> publish;
    private ProxyConfig running; // guarded by this

    /**
     * @param source  reads and checks the config file; throws a RuntimeException whose message is
     *                the one-line error (file, JSON path, what is wrong)
     * @param applyUpstreams merges the run-time state, saves it and publishes the upstreams
     *                ({@code ChangeApplier.reload}, after the DNS names are expanded); throws
     *                {@link StateException} when the state cannot be saved, having changed nothing
     * @param publish hands a checked config to the servlets, health checks and the rest
     */
    Reloader(Supplier<ProxyConfig> source, Consumer<ProxyConfig> applyUpstreams, ProxyConfig running, Consumer<ProxyConfig> publish) {
        this.source = source;
        this.applyUpstreams = applyUpstreams;
        this.running = running;
        this.publish = publish;
    }

    public synchronized Outcome reload() {
        ProxyConfig loaded;
        try {
            loaded = source.get();
        } catch (RuntimeException e) {
            return failed(e.getMessage());
        }
        List<String> restart = new ArrayList<>();
        ProxyConfig next = keepRestartOnly(running, loaded, restart);
        try {
            applyUpstreams.accept(next);
        } catch (StateException e) {
            return failed(e.getMessage());
        }
        publish.accept(next);
        running = next;
        ConfigWarnings.of(next).forEach(w -> LOG.warn("{}: {}", next.source(), w));
        String message = "reloaded " + next.source() + ": " + next.upstreams().size() + " upstream(s), "
                + next.routes().size() + " route(s)" + (restart.isEmpty() ? "" : "; changed but needing a restart: "
                + String.join(", ", restart));
        if (restart.isEmpty()) {
            LOG.info(message);
        } else {
            LOG.warn(message);
        }
        return new Outcome(true, message, List.copyOf(restart));
    }

    private static Outcome failed(String message) {
        LOG.error("reload failed, still running the previous configuration: {}", message);
        return new Outcome(false, message, List.of());
    }

    /**
     * The loaded config with what cannot change while running put back to its running value;
     * each such difference is added to {@code restart} as {@code "listen (running: 0.0.0.0:8080)"}.
     */
    static ProxyConfig keepRestartOnly(ProxyConfig running, ProxyConfig loaded, List<String> restart) {
        ProxyConfig next = loaded;
        if (!loaded.listeners().equals(running.listeners())) {
            restart.add("listen (running: " + running.listeners().stream().map(l -> l.host() + ":" + l.port())
                    .collect(java.util.stream.Collectors.joining(", ")) + ")");
            next = next.withListeners(running.listeners());
        }
        ProxyConfig.Api api = loaded.api();
        if (!api.path().equals(running.api().path())) {
            restart.add("api.path (running: " + running.api().path() + ")");
            next = next.withApi(new ProxyConfig.Api(running.api().path(), api.allow(), api.deny(), api.token(), api.readOnly(),
                    api.maxBodyBytes(), api.trustedProxies()));
        }
        if (!loaded.status().equals(running.status())) {
            restart.add("status.path (running: " + running.status().path() + ")");
            next = next.withStatus(running.status());
        }
        if (!Objects.equals(loaded.state(), running.state())) {
            restart.add("state.file (running: " + running.state().file() + ")");
            next = next.withState(running.state());
        }
        ProxyConfig.Proxy p = loaded.proxy();
        ProxyConfig.Proxy r = running.proxy();
        List<String> connector = new java.util.ArrayList<>(); // made once, with the listeners and the upstream client
        if (p.maxHeaderBytes() != r.maxHeaderBytes()) {
            connector.add("proxy.max_header_size (running: " + r.maxHeaderBytes() + " bytes)");
        }
        if (!p.clientHeaderTimeout().equals(r.clientHeaderTimeout())) {
            connector.add("proxy.client_header_timeout (running: " + Durations.format(r.clientHeaderTimeout()) + ")");
        }
        if (p.backlog() != r.backlog()) {
            connector.add("proxy.backlog (running: " + r.backlog() + ")");
        }
        if (!p.websocketIdleTimeout().equals(r.websocketIdleTimeout())) {
            connector.add("proxy.websocket_idle_timeout (running: " + Durations.format(r.websocketIdleTimeout()) + ")");
        }
        if (!connector.isEmpty()) {
            restart.addAll(connector);
            next = next.withProxy(new ProxyConfig.Proxy(p.connectTimeout(), p.readTimeout(), p.bufferBodyBytes(),
                    p.maxConnectionsPerServer(), p.maxQueuedPerServer(), r.maxHeaderBytes(), r.clientHeaderTimeout(),
                    p.clientBodyTimeout(), p.maxBodyBytes(), r.backlog(), r.websocketIdleTimeout(), p.upstreamIdleTimeout()));
        }
        if (!loaded.shutdown().equals(running.shutdown())) {
            restart.add("shutdown (running: delay " + Durations.format(running.shutdown().delay()) + ", timeout "
                    + Durations.format(running.shutdown().timeout()) + ")");
            next = next.withShutdown(running.shutdown());
        }
        if (!Objects.equals(loaded.fleet(), running.fleet())) {
            // the etcd client, the lease and the instance name are made once (docs/fleet.md)
            restart.add("fleet (running: " + (running.fleet() == null ? "none" : running.fleet()) + ")");
            next = next.withFleet(running.fleet());
        }
        return next;
    }
}
