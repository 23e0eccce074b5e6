package io.upstreamproxy.dns;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ProxyConfig.UpstreamConfig;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.NameStatus;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Host names of upstreams with {@code "resolve": "30s"}: resolved at that interval (sooner when
 * the answer's TTL is shorter, never more than once a second), each address a server of its own.
 * The config keeps the names; {@link #expand} turns them into the addresses of the last good
 * answers, and that expanded config goes through the one start-up/reload path
 * ({@code ChangeApplier}), so an address keeps its id for as long as it is in the answer (and
 * across restarts, through the state file), a new address joins like a server new in the config
 * (ramping over its {@code slow_start}), and one that disappears leaves rotation while requests
 * in flight to it finish.
 *
 * <p>A failed lookup keeps the last addresses and is reported ({@link Upstream#names()}); a name
 * that never resolved yet has no servers, and start-up proceeds without them.
 *
 * <p>Threads: one daemon thread, started only when some upstream has {@code resolve}, wakes
 * every {@value #TICK_MILLIS} ms and resolves the names that are due, outside the lock (a
 * lookup may wait for its timeout); answers that changed are applied under the lock, which
 * reloads also take, so a reload and a DNS change never apply each other's stale config.
 */
public final class DnsServers implements AutoCloseable {
    static final long TICK_MILLIS = 200;
    static final Duration MIN_TTL = Duration.ofSeconds(1);
    private static final Logger LOG = LoggerFactory.getLogger(DnsServers.class);

    /** One name in one upstream. */
    record Key(String upstream, HostPort name) {}

    /** The last good answer and the last attempt. Guarded by the DnsServers monitor. */
    private static final class Entry {
        List<String> addresses = List.of();
        String lastError;
        long attemptMillis;
        long okMillis;
        long dueNanos;
    }

    private final Function<HostPort, NameResolver> resolvers;
    private final Clock clock;
    private final Map<Key, Entry> entries = new LinkedHashMap<>(); // guarded by this
    private ProxyConfig config; // guarded by this
    private NameResolver resolver; // guarded by this
    private HostPort configuredResolver; // guarded by this
    private Consumer<ProxyConfig> publish = c -> { }; // guarded by this
    private UpstreamRegistry registry; // guarded by this
    private ScheduledExecutorService timer; // guarded by this
    private volatile boolean closed;
    private volatile boolean lookedUp;
    private final boolean tick;

    public DnsServers(Function<HostPort, NameResolver> resolvers, Clock clock) {
        this(resolvers, clock, true);
    }

    /** {@code tick} false: no thread; tests call {@link #resolveDue} after moving their clock. */
    DnsServers(Function<HostPort, NameResolver> resolvers, Clock clock, boolean tick) {
        this.resolvers = resolvers;
        this.clock = clock;
        this.tick = tick;
    }

    /** The production resolvers: dnsjava against {@code resolver}, or the system's nameservers. */
    public static DnsServers system() {
        return new DnsServers(NameResolver::dns, Clock.SYSTEM);
    }

    /**
     * Start-up: resolves every name once (a failure is noted, not fatal) and returns the config
     * with the addresses in place of the names, for {@code ChangeApplier.restore}.
     */
    public ProxyConfig start(ProxyConfig c) {
        return start(c, null);
    }

    /**
     * Start-up with the saved run-time state: a name that cannot be resolved now keeps the
     * addresses it had before the restart (the upstream's saved servers on the name's port that
     * the config does not list by address), as a failed lookup keeps the last answer while
     * running. Without this their ids and run-time settings would be dropped as "no longer in
     * the config".
     */
    public ProxyConfig start(ProxyConfig c, RuntimeState saved) {
        synchronized (this) {
            follow(c);
        }
        resolveDue();
        synchronized (this) {
            if (saved != null) {
                entries.forEach((k, e) -> {
                    if (e.addresses.isEmpty() && e.lastError != null) {
                        e.addresses = savedAddresses(c.upstreams().get(k.upstream()), saved.upstream(k.upstream()), k.name().port());
                        if (!e.addresses.isEmpty()) {
                            LOG.warn("upstream \"{}\": {} does not resolve now; keeping its addresses from before the restart: {}",
                                    k.upstream(), k.name(), e.addresses);
                        }
                    }
                });
            }
            return expand(config);
        }
    }

    private static List<String> savedAddresses(UpstreamConfig uc, RuntimeState.UpstreamState saved, int port) {
        if (saved == null) {
            return List.of();
        }
        Set<HostPort> listed = new HashSet<>();
        uc.servers().forEach(s -> listed.add(s.address()));
        return saved.servers().stream()
                .filter(s -> !s.isAdded() && s.address().port() == port && !s.address().isName() && !listed.contains(s.address()))
                .map(s -> s.address().host()).sorted().toList();
    }

    /**
     * From now on answers that change are handed to {@code apply} (the change applier's reload)
     * as an expanded config, and the name statuses are shown on {@code upstreams}.
     */
    public synchronized void publishTo(UpstreamRegistry upstreams, Consumer<ProxyConfig> apply) {
        this.registry = upstreams;
        this.publish = apply;
        showStatus();
        startTimerIfNeeded();
    }

    /**
     * A reload: new names are resolved at once, then the expanded config is applied (on the
     * caller's thread). When applying fails the previous config stays the one re-resolved.
     */
    public void reload(ProxyConfig c) {
        ProxyConfig previous;
        synchronized (this) {
            previous = config;
            follow(c);
        }
        resolveDue(); // names new in this config: the reload applies with their addresses
        synchronized (this) {
            try {
                publish.accept(expand(c));
            } catch (RuntimeException e) {
                follow(previous);
                throw e;
            }
            showStatus();
            startTimerIfNeeded();
        }
    }

    /** Takes the config's names: keeps entries of names that stay, adds new ones as due now. */
    private void follow(ProxyConfig c) {
        config = c;
        boolean resolverChanged = resolver == null || !Objects.equals(c.resolver(), configuredResolver);
        if (resolverChanged) {
            resolver = resolvers.apply(c.resolver());
            configuredResolver = c.resolver();
        }
        Set<Key> wanted = new HashSet<>();
        for (UpstreamConfig uc : c.upstreams().values()) {
            if (uc.resolve() == null) {
                continue;
            }
            for (ServerConfig s : uc.servers()) {
                if (s.address().isName()) {
                    Key k = new Key(uc.name(), s.address());
                    wanted.add(k);
                    if (!entries.containsKey(k) || resolverChanged) {
                        entries.computeIfAbsent(k, x -> new Entry()).dueNanos = clock.nanos(); // new: resolve now
                    }
                }
            }
        }
        entries.keySet().retainAll(wanted);
    }

    /** The config with each name of a {@code resolve} upstream replaced by its last good addresses. */
    synchronized ProxyConfig expand(ProxyConfig c) {
        if (entries.isEmpty()) {
            return c;
        }
        Map<String, UpstreamConfig> upstreams = new LinkedHashMap<>();
        for (UpstreamConfig uc : c.upstreams().values()) {
            if (uc.resolve() == null) {
                upstreams.put(uc.name(), uc);
                continue;
            }
            List<ServerConfig> servers = new ArrayList<>();
            Set<HostPort> seen = new HashSet<>();
            for (ServerConfig s : uc.servers()) {
                if (!s.address().isName()) {
                    if (seen.add(s.address())) {
                        servers.add(s);
                    }
                    continue;
                }
                Entry e = entries.get(new Key(uc.name(), s.address()));
                for (String a : e == null ? List.<String>of() : e.addresses) {
                    HostPort address = new HostPort(a, s.address().port());
                    if (seen.add(address)) { // two names (or a name and an address) for one server: once
                        servers.add(new ServerConfig(address, s.weight(), s.maxConns(), s.maxFails(), s.failTimeout(),
                                s.slowStart(), s.backup(), s.down(), s.drain()));
                    }
                }
            }
            upstreams.put(uc.name(), uc.withServers(servers));
        }
        return c.withUpstreams(java.util.Collections.unmodifiableMap(upstreams));
    }

    /** Resolves the names that are due, outside the lock; applies answers that changed. */
    void resolveDue() {
        Map<Key, NameResolver> due = new LinkedHashMap<>();
        synchronized (this) {
            long now = clock.nanos();
            entries.forEach((k, e) -> {
                if (now - e.dueNanos >= 0) {
                    due.put(k, resolver);
                }
            });
        }
        boolean changed = false;
        if (!due.isEmpty()) {
            lookedUp = true;
        }
        for (Map.Entry<Key, NameResolver> d : due.entrySet()) {
            Key k = d.getKey();
            NameResolver.Answer answer = null;
            String error = null;
            try {
                answer = d.getValue().resolve(k.name().host());
            } catch (NameResolver.Failure e) {
                error = e.getMessage();
            } catch (RuntimeException e) {
                error = e.toString();
            }
            synchronized (this) {
                Entry e = entries.get(k);
                if (e == null) {
                    continue; // gone by a reload meanwhile
                }
                Duration interval = intervalOf(k);
                e.attemptMillis = clock.wallMillis();
                if (answer != null) {
                    List<String> sorted = answer.addresses().stream().sorted().distinct().toList();
                    if (!sorted.equals(e.addresses)) {
                        LOG.info("upstream \"{}\": {} resolves to {} (was {})", k.upstream(), k.name(), sorted, e.addresses);
                        e.addresses = sorted;
                        changed = true;
                    }
                    if (e.lastError != null) {
                        LOG.info("upstream \"{}\": {} resolves again", k.upstream(), k.name());
                    }
                    e.lastError = null;
                    e.okMillis = e.attemptMillis;
                    Duration ttl = answer.ttl().compareTo(MIN_TTL) < 0 ? MIN_TTL : answer.ttl();
                    e.dueNanos = clock.nanos() + Math.min(interval.toNanos(), ttl.toNanos());
                } else {
                    if (!error.equals(e.lastError)) {
                        LOG.warn("upstream \"{}\": cannot resolve {}: {}; keeping {}", k.upstream(), k.name(), error,
                                e.addresses.isEmpty() ? "no address (none yet)" : "the last addresses " + e.addresses);
                    }
                    e.lastError = error;
                    e.dueNanos = clock.nanos() + interval.toNanos();
                }
            }
        }
        if (changed) {
            synchronized (this) {
                if (!closed) {
                    try {
                        publish.accept(expand(config));
                    } catch (RuntimeException e) {
                        LOG.error("DNS change not applied: {}", e.getMessage());
                    }
                }
            }
        }
        synchronized (this) {
            showStatus();
        }
    }

    private Duration intervalOf(Key k) {
        UpstreamConfig uc = config.upstreams().get(k.upstream());
        return uc == null || uc.resolve() == null ? Duration.ofSeconds(30) : uc.resolve();
    }

    /** Puts each upstream's name statuses where the API and the status page read them. */
    private void showStatus() {
        if (registry == null) {
            return;
        }
        Map<String, List<NameStatus>> byUpstream = new LinkedHashMap<>();
        entries.forEach((k, e) -> byUpstream.computeIfAbsent(k.upstream(), x -> new ArrayList<>())
                .add(new NameStatus(k.name().toString(), e.addresses, e.lastError, e.attemptMillis, e.okMillis)));
        for (Upstream u : registry.all().values()) {
            u.setNames(byUpstream.getOrDefault(u.name(), List.of()));
        }
    }

    private void startTimerIfNeeded() {
        if (!tick || timer != null || entries.isEmpty() || closed) {
            return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "upstream-proxy-dns");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(() -> {
            try {
                resolveDue();
            } catch (RuntimeException e) {
                LOG.warn("DNS: re-resolving failed", e); // a background task logs and carries on
            }
        }, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Stops re-resolving, and stops dnsjava's selector thread, which a container would
     * otherwise report as left behind by the undeployed webapp (dnsjava starts it again on its
     * next lookup, should another proxy in the same class loader need one).
     */
    @Override
    public synchronized void close() {
        closed = true;
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
        }
        if (lookedUp && !shuttingDown()) { // at JVM exit the thread goes anyway, and dnsjava would warn
            org.xbill.DNS.NioClient.close();
        }
    }

    private static boolean shuttingDown() {
        Thread probe = new Thread(() -> { });
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }

    /**
     * Host names of upstreams without {@code resolve} must resolve now (SPEC §10): the first one
     * that does not is a config error naming it. They are then left to the HTTP client, which
     * resolves at connect time through the system resolver.
     */
    public static void checkNames(ProxyConfig c) {
        NameResolver explicit = c.resolver() == null ? null : NameResolver.dns(c.resolver());
        for (UpstreamConfig uc : c.upstreams().values()) {
            if (uc.resolve() != null) {
                continue;
            }
            for (int i = 0; i < uc.servers().size(); i++) {
                HostPort a = uc.servers().get(i).address();
                if (!a.isName()) {
                    continue;
                }
                String problem = null;
                try {
                    if (explicit != null) {
                        explicit.resolve(a.host());
                    } else {
                        InetAddress.getAllByName(a.host());
                    }
                } catch (NameResolver.Failure | UnknownHostException e) {
                    problem = e.getMessage();
                }
                if (problem != null) {
                    throw new ConfigException("upstreams." + uc.name() + ".servers[" + i + "].server", "\"" + a
                            + "\" does not resolve: " + problem + " (expected: a host name that resolves now, or \"resolve\""
                            + " on the upstream to start without an address and re-resolve)");
                }
            }
        }
    }
}
