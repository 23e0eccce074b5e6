package io.upstreamproxy.fleet;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.upstreamproxy.config.FleetConfig;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.state.StateStore;
import io.upstreamproxy.state.StoreUnavailableException;
import io.upstreamproxy.upstream.Change;
import io.upstreamproxy.upstream.ChangeApplier;
import io.upstreamproxy.upstream.ChangeRejected;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One instance's membership in a fleet: connects to etcd, seeds or joins the shared intent,
 * watches it and applies every change (its own and the others') through the
 * {@link ChangeApplier}, and keeps a leased {@code instances/NAME} key so others see it alive.
 *
 * <p>Everything that reads etcd into this instance runs on one thread ({@code fleet-sync}): the
 * watch's events, full re-reads and catch-ups are merged into the {@link EtcdMirror} and applied
 * in the order they were read, so an older intent can never be applied after a newer one.
 * Proxied requests never wait on it.
 *
 * <p>Failures: etcd down at start, the instance serves its state file and retries every
 * 250 ms; when it answers, a full read replaces the local intent (etcd wins). A watch
 * that breaks is resumed by jetcd from the revision after the last event; one that etcd
 * cancels (compacted past that revision) ends, and a full read takes over.
 */
public final class FleetNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FleetNode.class);
    /** For writes: how long an API call may wait for etcd before answering 503. */
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);
    /** For reads and the lease: a first call also sets up the connection, slow on a busy machine. */
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration FIRST_SYNC_WAIT = Duration.ofSeconds(4);
    private static final int MAX_JOIN_ROUNDS = 10;
    /** While etcd is away: how often to read again. */
    private static final Duration RETRY = Duration.ofMillis(250);
    /** While etcd is away: how often to have gRPC dial again ({@link ChannelBackoff}). */
    private static final Duration DIAL = Duration.ofMillis(100);
    /**
     * jetcd's pause before retrying a read that found no member (UNAVAILABLE, also "leader
     * changed" right after an election); its default of 500 ms held the sync thread that long
     * after each election, and made each reconnection attempt during an outage last over 1 s.
     */
    private static final long READ_RETRY_MILLIS = 50;
    /** For {@link #catchUpIfBehind}: the sync thread must not wait long on a member that died. */
    private static final Duration POLL_TIMEOUT = Duration.ofSeconds(1);
    /**
     * After a refused write: how long to wait for the watch to bring the change that won before
     * reading everything instead. The watch brings it in milliseconds; a full read per conflict
     * (a linearizable read of every key, then every upstream rebuilt and saved) held an instance
     * to 4-12 writes a second while six writers contended for one server.
     */
    private static final Duration CATCH_UP_WAIT = Duration.ofMillis(500);

    private final FleetConfig config;
    private final Client client;
    private final EtcdCalls etcd;
    private final EtcdCalls poll; // short timeout: the sync thread must not wait long on a dead member, nor retries on a leaderless one
    private final Membership membership;
    private final EtcdMirror mirror = new EtcdMirror();
    private final EtcdStateStore store;
    private final ScheduledExecutorService sync;
    /**
     * The lease and the published revision: etcd writes that wait for a leader (up to 3 s in an
     * election), on their own thread so the sync thread never waits on them (it did, and changes
     * reached the instance 1.3-1.7 s after their commit around a leader change).
     */
    private final ScheduledExecutorService lease;
    /** Resets gRPC's back-off while etcd is away: on its own thread, as the two others wait on etcd for seconds. */
    private final ScheduledExecutorService dial;
    private final CountDownLatch firstSync = new CountDownLatch(1);
    private ChangeApplier changes;
    private volatile boolean closed;
    private volatile boolean connected;
    private volatile long appliedRevision;
    private volatile Watch.Watcher watcher; // written on the sync thread only
    private volatile boolean watchPaused;
    private volatile boolean watchBroken;
    private boolean differencesLogged; // sync thread only
    private final Set<String> dirty = new LinkedHashSet<>(); // upstreams the watch touched, not applied yet; sync thread only
    private int failures; // sync thread only
    private final Delivered delivered = new Delivered();
    private final AtomicLong fullReads = new AtomicLong();
    private final AtomicLong catchUps = new AtomicLong();

    private FleetNode(ProxyConfig proxyConfig, StateStore cache) {
        this.config = proxyConfig.fleet(); // the rest of the config follows reloads: changes.config()
        this.client = newClient(config);
        this.etcd = new EtcdCalls(config.prefix(), READ_TIMEOUT);
        this.poll = new EtcdCalls(config.prefix(), POLL_TIMEOUT);
        this.membership = new Membership(client, etcd, config.instance());
        this.store = new EtcdStateStore(cache, client.getKVClient(), config.prefix(), config.instance(), CALL_TIMEOUT, mirror);
        this.sync = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fleet-sync-" + config.instance());
            t.setDaemon(true);
            return t;
        });
        this.lease = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fleet-lease-" + config.instance());
            t.setDaemon(true);
            return t;
        });
        this.dial = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fleet-dial-" + config.instance());
            t.setDaemon(true);
            return t;
        });
    }

    /** Creates the node and its store; nothing talks to etcd before {@link #start}. */
    public static FleetNode create(ProxyConfig config, StateStore cache) {
        return new FleetNode(config, cache);
    }

    private static Client newClient(FleetConfig c) {
        ClientBuilder b = Client.builder()
                .endpoints(c.endpoints().toArray(java.net.URI[]::new))
                .connectTimeout(CALL_TIMEOUT)
                .waitForReady(false) // fail fast when etcd is down, so a write answers 503 and is not queued
                .retryDelay(READ_RETRY_MILLIS)
                .retryMaxDelay(5 * READ_RETRY_MILLIS)
                .keepaliveTime(Duration.ofSeconds(10))
                .keepaliveTimeout(Duration.ofSeconds(3));
        if (c.username() != null) {
            b.user(ByteSequence.from(c.username(), StandardCharsets.UTF_8))
                    .password(ByteSequence.from(c.password(), StandardCharsets.UTF_8));
        }
        if (c.ca() != null || c.cert() != null) {
            try {
                b.sslContext(ssl -> {
                    if (c.ca() != null) {
                        ssl.trustManager(c.ca().toFile());
                    }
                    if (c.cert() != null) {
                        ssl.keyManager(c.cert().toFile(), c.key().toFile());
                    }
                });
            } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
                throw new IllegalStateException("upstream-proxy: fleet.etcd: cannot use the TLS files: " + e.getMessage(), e);
            }
        }
        return b.build();
    }

    /** The store to give the {@link ChangeApplier}: etcd with the state file as cache. */
    public StateStore store() {
        return store;
    }

    /**
     * Joins the fleet: waits a few seconds for the first full read so a normal start serves the
     * fleet's intent from its first request; if etcd does not answer, serves the state file and
     * keeps trying in the background.
     */
    public void start(ChangeApplier applier) {
        this.changes = applier;
        store.join();
        store.onCatchUp(this::catchUp);
        store.onMerged(() -> sync.execute(this::rejoin));
        sync.execute(this::connect);
        lease.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
        Runnable dialNow = ChannelBackoff.resetter(client);
        dial.scheduleWithFixedDelay(() -> {
            if (!connected) {
                dialNow.run();
            }
        }, DIAL.toMillis(), DIAL.toMillis(), TimeUnit.MILLISECONDS);
        sync.scheduleWithFixedDelay(this::catchUpIfBehind, RETRY.toMillis(), RETRY.toMillis(), TimeUnit.MILLISECONDS);
        try {
            if (!firstSync.await(FIRST_SYNC_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("fleet: etcd {} does not answer: serving the state file's last known intent; writes answer 503 "
                        + "until etcd answers (retrying)", config.endpoints());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** (Re)connects: full read, join, apply, watch from the revision after the read. Retries on failure. */
    private void connect() {
        if (closed) {
            return;
        }
        try {
            // retries wait less: a member that is up without a leader yet holds a linearizable read
            // until the timeout, and the instance restarted during an outage needed 5 s after etcd's return
            long revision = fullRead(failures == 0 ? etcd : poll);
            startWatch(revision + 1);
            if (!connected) {
                LOG.info("fleet: instance \"{}\" in sync with {} at revision {}", config.instance(), config, revision);
            }
            connected = true;
            failures = 0;
            firstSync.countDown();
        } catch (RuntimeException e) {
            connected = false;
            long delay = RETRY.toMillis(); // a refused connection costs nothing; etcd's return is seen within this
            if (failures++ == 0) {
                LOG.warn("fleet: cannot read etcd {}: {}; retrying", config.endpoints(), e.getMessage());
            }
            sync.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * After a reload's merge: a full read joins with the new config (servers and upstreams etcd
     * lacks) and applies the intent over the merge. While etcd is away the retrying
     * {@link #connect} does this when it answers; until then the merge serves.
     */
    private void rejoin() {
        if (closed || !connected) {
            return;
        }
        try {
            fullRead(etcd);
        } catch (RuntimeException e) {
            LOG.warn("fleet: cannot read etcd after the reload: {}; retrying", e.getMessage());
            sync.schedule(this::rejoin, 1, TimeUnit.SECONDS);
        }
    }

    /** Reads every key, seeds or joins where this instance's config is not in etcd yet, then applies. */
    private long fullRead(EtcdCalls calls) {
        fullReads.incrementAndGet();
        for (int round = 0; ; round++) {
            long revision = readAll(calls, false);
            EtcdMirror.Entry self = mirror.entry(EtcdKeys.INSTANCES + config.instance());
            if (!differencesLogged && self != null && self.value() != null) {
                LOG.warn("fleet: instance name \"{}\" is already held by a live lease: another instance with the same name, "
                        + "or this one's previous run less than 10 s ago (names must be unique)", config.instance());
            }
            boolean wrote = round < MAX_JOIN_ROUNDS && join();
            differencesLogged = true;
            if (!wrote) {
                store.share();
                applyAll(changes.config().upstreams().keySet());
                return revision;
            }
        }
    }

    /**
     * Reads every key into the mirror and returns the read's revision. Serializable: what the
     * member asked has committed, answered without the leader (a lagging member's older read is
     * safe: the mirror keeps the newest value of each key).
     */
    private long readAll(EtcdCalls calls, boolean serializable) {
        GetResponse r = calls.call(client.getKVClient().get(calls.key(""),
                GetOption.builder().isPrefix(true).withSerializable(serializable).build()));
        long revision = r.getHeader().getRevision();
        Map<String, EtcdMirror.Entry> read = new HashMap<>();
        for (KeyValue kv : r.getKvs()) {
            read.put(calls.relative(kv.getKey()), new EtcdMirror.Entry(kv.getValue().toString(StandardCharsets.UTF_8), kv.getModRevision()));
        }
        mirror.replace(read, revision);
        delivered.upTo(revision); // the caller applies it in this same task
        return revision;
    }

    /**
     * Every 250 ms: does any member (serializable: during an election too) have a key under the
     * prefix newer than the newest revision this instance has seen? Then read everything and
     * apply. The watch alone was not enough around a leader change: broken, jetcd resumes it
     * every 500 ms and a member without a leader refuses it. When nothing changed this costs
     * one keys-only range that returns nothing; a lagging member answers late, never wrongly
     * (the mirror keeps the newest value).
     */
    private void catchUpIfBehind() {
        if (closed || watchPaused || firstSync.getCount() > 0) { // before the first full read, connect() does it
            return;
        }
        try {
            long seen = mirror.newestRevision();
            // keys only: etcd ignores min_mod_revision for a count (it counts every key in the range)
            GetResponse r = poll.call(client.getKVClient().get(poll.key(""), GetOption.builder().isPrefix(true)
                    .withSerializable(true).withKeysOnly(true).withMinModRevision(seen + 1).build()));
            if (!r.getKvs().isEmpty()) {
                readAll(poll, true);
                applyAll(changes.config().upstreams().keySet());
            }
        } catch (RuntimeException e) {
            LOG.debug("fleet: no etcd member answers: {}", e.getMessage());
        }
    }

    /**
     * Seeds each upstream etcd does not know from this instance's state (config + state file),
     * and adds to a known one the servers of this instance's config that it lacks (as new
     * configured servers with new ids). Returns true when it wrote, so the caller reads again.
     */
    private boolean join() {
        boolean wrote = false;
        ProxyConfig proxyConfig = changes.config();
        for (String name : proxyConfig.upstreams().keySet()) {
            RuntimeState.UpstreamState shared = mirror.intent(name);
            if (shared == null) {
                RuntimeState.UpstreamState local = changes.state().upstream(name);
                Map<String, String> keys = new HashMap<>();
                EtcdKeys.flatten(name, local, keys);
                commit(EtcdKeys.nextIdKey(name), 0, keys);
                wrote = true;
                LOG.info("fleet: upstream \"{}\" seeded into etcd from this instance's config and state", name);
                continue;
            }
            Set<HostPort> known = new HashSet<>(shared.removed());
            shared.servers().forEach(s -> known.add(s.address()));
            Set<HostPort> configured = new LinkedHashSet<>();
            proxyConfig.upstreams().get(name).servers().forEach(c -> configured.add(c.address()));
            if (!differencesLogged) {
                for (RuntimeState.ServerState s : shared.servers()) {
                    if (!s.isAdded() && !configured.contains(s.address())) {
                        LOG.warn("fleet: upstream \"{}\" server {} (id {}) is in the fleet's intent but not in this instance's "
                                + "config: not run here", name, s.address(), s.id());
                    }
                }
                for (HostPort r : shared.removed()) {
                    if (configured.contains(r)) {
                        LOG.info("fleet: upstream \"{}\" server {} of this instance's config was removed through the API: not run", name, r);
                    }
                }
            }
            Map<String, String> keys = new HashMap<>();
            int nextId = shared.nextId();
            for (ServerConfig c : proxyConfig.upstreams().get(name).servers()) {
                if (!known.contains(c.address())) {
                    RuntimeState.ServerState s = RuntimeState.ServerState.configured(nextId++, c.address(), ServerPatch.EMPTY);
                    Map<String, String> one = new HashMap<>();
                    EtcdKeys.flatten(name, new RuntimeState.UpstreamState(nextId, List.of(s), List.of()), one);
                    keys.putAll(one);
                    LOG.warn("fleet: upstream \"{}\" server {} of this instance's config is not in the fleet's intent: "
                            + "added to it as id {}", name, c.address(), s.id());
                }
            }
            if (!keys.isEmpty()) {
                keys.put(EtcdKeys.nextIdKey(name), Integer.toString(nextId));
                EtcdMirror.Entry next = mirror.entry(EtcdKeys.nextIdKey(name));
                commit(EtcdKeys.nextIdKey(name), next.revision(), keys);
                wrote = true;
            }
        }
        return wrote;
    }

    /**
     * Puts {@code keys} if {@code guard} still has mod revision {@code revision}. When another
     * instance got there first nothing is written; the caller reads again either way.
     */
    private void commit(String guard, long revision, Map<String, String> keys) {
        List<Op> ops = new ArrayList<>();
        keys.forEach((k, v) -> ops.add(Op.put(etcd.key(k), ByteSequence.from(v, StandardCharsets.UTF_8), PutOption.DEFAULT)));
        etcd.call(client.getKVClient().txn()
                .If(new Cmp(etcd.key(guard), Cmp.Op.EQUAL, CmpTarget.modRevision(revision)))
                .Then(ops.toArray(Op[]::new)).commit());
    }

    private void applyAll(Iterable<String> upstreams) {
        ProxyConfig proxyConfig = changes.config();
        for (String name : upstreams) {
            if (name == null || !proxyConfig.upstreams().containsKey(name)) {
                continue;
            }
            try {
                changes.apply(new Change.SyncUpstream(name));
            } catch (ChangeRejected e) {
                LOG.error("fleet: upstream \"{}\": the fleet's intent could not be applied: {}", name, e.getMessage());
            }
        }
        appliedRevision = Math.max(appliedRevision, mirror.stateRevision());
    }

    private void startWatch(long fromRevision) {
        Watch.Watcher old = watcher;
        watcher = null;
        if (old != null) {
            old.close();
        }
        if (watchPaused) {
            return;
        }
        Watch.Watcher[] self = new Watch.Watcher[1];
        self[0] = client.getWatchClient().watch(etcd.key(""),
                WatchOption.builder().isPrefix(true).withRevision(fromRevision).withCreateNotify(true)
                        .withRequireLeader(true).build(), // a member cut off from the quorum would send nothing
                Watch.listener(
                        response -> sync.execute(() -> onEvents(response)),
                        error -> {
                            connected = false; // until the watch is back: GET /api/fleet says "unreachable"
                            if (error instanceof CompactedException) {
                                LOG.warn("fleet: etcd compacted past revision {}: reading everything again", appliedRevision);
                            } else if (!closed && !watchBroken) {
                                watchBroken = true; // jetcd retries every 500 ms: one line per outage
                                LOG.warn("fleet: etcd watch broke ({}): resuming from the last revision seen", error.getMessage());
                            }
                        },
                        () -> sync.execute(() -> {
                            // the watch ended (compaction, or etcd refused it): a full read takes over
                            if (!closed && !watchPaused && watcher == self[0]) {
                                connected = false;
                                connect();
                            }
                        })));
        watcher = self[0];
    }

    private void onEvents(WatchResponse response) {
        connected = true; // created (also after a resume) or events: etcd answers
        if (watchBroken) {
            watchBroken = false;
            LOG.info("fleet: etcd watch resumed");
        }
        Set<String> touched = new LinkedHashSet<>();
        long newest = 0;
        for (WatchEvent e : response.getEvents()) {
            KeyValue kv = e.getKeyValue();
            newest = Math.max(newest, kv.getModRevision());
            String key = etcd.relative(kv.getKey());
            boolean put = e.getEventType() == WatchEvent.EventType.PUT;
            String value = put ? kv.getValue().toString(StandardCharsets.UTF_8) : null;
            if (mirror.merge(key, value, kv.getModRevision())) {
                touched.add(EtcdKeys.upstreamOf(key));
            }
        }
        if (dirty.isEmpty() && !touched.isEmpty()) {
            sync.execute(this::applyDirty); // behind the responses queued meanwhile: one apply for all of them
        }
        dirty.addAll(touched);
        delivered.upTo(newest); // after the apply is queued: a catch-up's task queued from now runs after it
    }

    /**
     * Applies the upstreams the watch touched since the last apply. Under a storm of writes each
     * apply (a rebuild, then the state file's fsyncs) took longer than the next event took to
     * come, and the instance fell behind one event at a time; now the events that queued during
     * an apply are merged into the mirror first and applied together.
     */
    private void applyDirty() {
        Set<String> now = new LinkedHashSet<>(dirty);
        dirty.clear();
        applyAll(now);
    }

    /**
     * After a refused save, before the caller computes its change again: brings this instance up
     * to {@code revision} (0: not known), the etcd revision that refused it. The watch delivers
     * that revision in milliseconds: wait for it, then for the sync thread to apply it. Only when
     * it does not come in {@link #CATCH_UP_WAIT} (watch broken or cancelled, a write outside the
     * prefix at that revision) read everything again and apply it.
     *
     * <p>Example: another instance drains server 1 at revision 90; this one's PATCH of server 1
     * is refused at revision 90 while its watch is at 89; the event for 90 comes, its apply runs,
     * the PATCH is computed again over drain=true. No read of etcd.
     */
    private void catchUp(long revision) {
        catchUps.incrementAndGet();
        if (revision > 0 && connected && delivered.await(revision, CATCH_UP_WAIT)) {
            onSyncThread(() -> { }); // the apply of what was delivered is queued before this
            return;
        }
        try {
            // jitter: instances that lost the same race do not all come back at the same instant
            Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextInt(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while reading etcd");
        }
        onSyncThread(() -> {
            long read = fullRead(etcd);
            LOG.debug("fleet: caught up at revision {}", read);
        });
    }

    /** Runs a task on the sync thread and waits for it (bounded); a failure is a {@link StoreUnavailableException}. */
    private void onSyncThread(Runnable task) {
        Future<?> f = sync.submit(task);
        try {
            f.get(READ_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while reading etcd");
        } catch (ExecutionException | TimeoutException e) {
            f.cancel(false);
            throw new StoreUnavailableException("cannot read etcd: " + (e.getCause() != null ? e.getCause().getMessage() : e));
        }
    }

    /** Every second: the lease and the published revision (see {@link Membership}). */
    private void tick() {
        if (!closed && connected) {
            membership.tick(appliedRevision);
        }
    }

    /** This instance's view of the fleet, for {@code GET /api/fleet}. */
    public FleetView view() {
        List<FleetView.Member> members = new ArrayList<>();
        mirror.under(EtcdKeys.INSTANCES).forEach((key, e) ->
                members.add(FleetView.Member.parse(key.substring(EtcdKeys.INSTANCES.length()), e.value())));
        return new FleetView(config.instance(), connected, appliedRevision, members);
    }

    /** The newest intent revision this instance has applied. */
    public long appliedRevision() {
        return appliedRevision;
    }

    public boolean connected() {
        return connected;
    }

    /** Test hook: stops applying the watch's events (as a partitioned instance would miss them). */
    void pauseWatch() throws Exception {
        sync.submit(() -> {
            watchPaused = true;
            Watch.Watcher w = watcher;
            watcher = null;
            if (w != null) {
                w.close();
            }
        }).get();
    }

    /** Test hook: watches again from the revision after the last one applied, as jetcd's own resume does. */
    void resumeWatch() throws Exception {
        sync.submit(() -> {
            watchPaused = false;
            startWatch(appliedRevision + 1);
        }).get();
    }

    /** Test hook: runs a task on the sync thread, after what is queued there (as a busy sync thread would). */
    void queueOnSyncThread(Runnable task) {
        sync.execute(task);
    }

    /** Test hook: how many full reads of etcd this instance made. */
    long fullReads() {
        return fullReads.get();
    }

    /** Test hook: how many catch-ups after a refused write began. */
    long catchUps() {
        return catchUps.get();
    }

    /** All keys this instance has seen, relative to the prefix (tests, benchmark). */
    Map<String, String> seen() {
        Map<String, String> out = new HashMap<>();
        mirror.snapshot().forEach((k, e) -> {
            if (e.value() != null) {
                out.put(k, e.value());
            }
        });
        return out;
    }

    @Override
    public void close() {
        closed = true;
        try {
            sync.submit(() -> {
                Watch.Watcher w = watcher;
                watcher = null;
                if (w != null) {
                    w.close();
                }
            }).get(2, TimeUnit.SECONDS);
            lease.submit(membership::leave).get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debug("fleet: close: {}", e.toString());
        }
        sync.shutdownNow();
        lease.shutdownNow();
        dial.shutdownNow();
        client.close();
    }
}
