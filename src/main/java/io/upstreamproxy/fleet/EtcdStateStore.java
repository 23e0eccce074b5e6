package io.upstreamproxy.fleet;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.state.OutcomeUnknownException;
import io.upstreamproxy.state.RuntimeState;
import io.upstreamproxy.state.StateConflictException;
import io.upstreamproxy.state.StateException;
import io.upstreamproxy.state.StateStore;
import io.upstreamproxy.state.StoreUnavailableException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fleet mode's {@link StateStore}: etcd is the truth, the state file a last-known-good cache.
 *
 * <p>A commit turns the change's base and result into keys ({@link EtcdKeys}) and writes only
 * the keys that differ, in one transaction guarded by each key's mod revision as this instance
 * last saw it. So a change made from stale state (another instance changed the same server, or
 * took the same id) is refused with {@link StateConflictException}, never written over; changes
 * to different servers touch different keys and both pass. A save writes the state file only
 * (the sync thread's saves: the intent etcd already has, being applied here). A change that
 * changes nothing here is confirmed by a linearizable read instead: etcd must hold exactly this
 * instance's intent, or the instance was stale ({@link StateConflictException}: catch up,
 * compute again).
 *
 * <p>Start-up's merge of config and file is saved to the file only; from then until the first
 * full read from etcd, commits are refused ({@link StoreUnavailableException}). After it, every
 * answer is the truth about etcd ({@link WriteFence}): committed; {@link StoreUnavailableException}
 * when the transaction was never sent or was fenced off after etcd left it unanswered (it can
 * then never commit); {@link OutcomeUnknownException} when etcd could not be asked in time, and
 * then no later save is sent before that one is settled.
 *
 * <p>Commits arrive one at a time under the {@code ChangeApplier}'s write lock (the {@link
 * WriteFence} needs one write at a time), saves under its state lock.
 */
final class EtcdStateStore implements StateStore {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdStateStore.class);

    /**
     * How long a write waits for an earlier unanswered one to be settled before it answers 503
     * unsent. A settling is one small transaction, answered in milliseconds once etcd has a
     * leader; an attempt sent just before etcd's return held the writes this long after it (was
     * 500 ms).
     */
    private static final Duration SETTLE_FIRST = Duration.ofMillis(250);

    private final StateStore cache;
    private final KV kv;
    private final String prefix;
    private final Duration timeout;
    private final EtcdMirror mirror;
    private final WriteFence fence;
    private volatile boolean shared;
    private volatile boolean joining;
    private volatile LongConsumer catchUp = revision -> { };
    private volatile Runnable rejoin = () -> { };

    EtcdStateStore(StateStore cache, KV kv, String prefix, String instance, Duration timeout, EtcdMirror mirror) {
        this.cache = cache;
        this.kv = kv;
        this.prefix = prefix;
        this.timeout = timeout;
        this.mirror = mirror;
        this.fence = new WriteFence(kv, mirror, prefix, instance);
    }

    /** Start-up's merge is saved; from now on a change needs etcd, and is refused until the first full read. */
    void join() {
        this.joining = true;
    }

    /** From now on changes are committed to etcd. */
    void share() {
        this.shared = true;
    }

    /** Catches up with a revision (0: not known) after a refused commit. */
    void onCatchUp(LongConsumer r) {
        this.catchUp = r;
    }

    /** Runs after a reload's merge was saved: the node reads etcd again and joins with the new config. */
    void onMerged(Runnable r) {
        this.rejoin = r;
    }

    @Override
    public RuntimeState load() {
        return cache.load();
    }

    @Override
    public void commit(RuntimeState base, RuntimeState next) {
        if (shared) {
            commitKeys(EtcdKeys.flatten(base), EtcdKeys.flatten(next));
        } else if (joining) {
            throw new StoreUnavailableException("not in sync with etcd yet (etcd did not answer since this instance started)");
        }
    }

    /** The state file only: etcd has it already (committed by this instance, or read from it). */
    @Override
    public void save(RuntimeState next) {
        if (!shared) {
            cache.save(next);
            return;
        }
        try {
            cache.save(next);
        } catch (StateException e) {
            LOG.error("fleet: etcd has the change but the state file cache does not: {}", e.getMessage());
        }
    }

    /**
     * Start-up's or a reload's merge of config and state: never written to etcd (it drops the
     * servers of other instances' configs, and a reload would delete them for everyone); the
     * state file takes it, then the node joins again, adding what this config has that the
     * fleet's intent lacks, and applying the intent over the merge.
     */
    @Override
    public void saveMerged(RuntimeState next) {
        cache.save(next);
        rejoin.run();
    }

    @Override
    public void catchUp(StateConflictException conflict) {
        catchUp.accept(conflict.revision());
    }

    @Override
    public RuntimeState.UpstreamState sharedIntent(String upstream) {
        return shared ? mirror.intent(upstream) : null;
    }

    private void commitKeys(Map<String, String> before, Map<String, String> after) {
        SortedMap<String, String> diff = new TreeMap<>();
        before.keySet().forEach(k -> diff.put(k, after.get(k)));
        after.forEach(diff::put);
        diff.entrySet().removeIf(e -> Objects.equals(before.get(e.getKey()), e.getValue()));
        settleEarlierWrite();
        if (diff.isEmpty()) {
            confirm(after); // changes nothing here; but "here" may be stale
            return;
        }
        List<Cmp> guards = new ArrayList<>();
        List<Op> ops = new ArrayList<>();
        for (Map.Entry<String, String> e : diff.entrySet()) {
            String key = e.getKey();
            guards.add(new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.modRevision(basis(key, before.get(key)))));
            ops.add(e.getValue() == null ? Op.delete(bytes(key), DeleteOption.DEFAULT)
                    : Op.put(bytes(key), ByteSequence.from(e.getValue(), StandardCharsets.UTF_8), PutOption.DEFAULT));
        }
        String id = fence.nextId();
        long fenceAt = fence.revision();
        guards.add(fence.guard(fenceAt));
        ops.add(fence.put(id));
        long revision = send(diff, id, fenceAt, kv.txn().If(guards.toArray(Cmp[]::new)).Then(ops.toArray(Op[]::new)).Else(fence.read()));
        diff.forEach((key, value) -> mirror.merge(key, value, revision));
        fence.seen(id, revision);
    }

    /**
     * Commits the transaction and returns its revision, or says truthfully why not:
     * {@link StateConflictException} (refused by a guard), {@link StoreUnavailableException} (known
     * not committed, and never to commit) or {@link OutcomeUnknownException}.
     */
    private long send(Map<String, String> diff, String id, long fenceAt, io.etcd.jetcd.Txn txn) {
        TxnResponse r;
        try {
            r = txn.commit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fence.silent(id, fenceAt);
            throw new OutcomeUnknownException("interrupted while etcd committed " + diff.keySet());
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            Throwable root = cause;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            String what = "etcd did not confirm it within " + timeout.toMillis() + " ms (" + cause.getClass().getSimpleName()
                    + (cause.getMessage() == null ? "" : ": " + cause.getMessage())
                    + (root == cause ? "" : "; " + root.getClass().getSimpleName() + ": " + root.getMessage()) + ")";
            if (neverSent(cause)) {
                throw new StoreUnavailableException("etcd is unreachable (" + root.getClass().getSimpleName() + ": "
                        + root.getMessage() + "): the change was not sent");
            }
            fence.silent(id, fenceAt);
            WriteFence.Outcome o;
            try {
                o = fence.settle(timeout);
            } catch (StoreUnavailableException u) {
                throw new OutcomeUnknownException(what + ", nor whether it committed since");
            }
            if (o == WriteFence.Outcome.COMMITTED) {
                LOG.info("fleet: a write etcd did not confirm in time was found committed at revision {}", fence.settledAt());
                return fence.settledAt();
            }
            if (o == WriteFence.Outcome.NOT_COMMITTED) {
                throw new StoreUnavailableException(what + "; it is now fenced off and will never apply");
            }
            throw new OutcomeUnknownException(what + "; it can no longer commit, but may have before");
        }
        if (!r.isSucceeded()) {
            if (id.equals(WriteFence.heldValue(r))) {
                return WriteFence.heldAt(r); // an earlier attempt of this very transaction committed
            }
            fence.seen(WriteFence.heldValue(r), WriteFence.heldAt(r));
            throw new StateConflictException("another instance changed " + diff.keySet() + " first (etcd revision "
                    + r.getHeader().getRevision() + ")", r.getHeader().getRevision());
        }
        return r.getHeader().getRevision();
    }

    /** True when the failure is a connection that could not be made: the transaction never left (jetcd retries no transaction sent). */
    private static boolean neverSent(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.net.ConnectException) {
                return true;
            }
        }
        return false;
    }

    /** Before any write: an earlier one that etcd left unanswered must be settled, so it cannot overtake this one. */
    private void settleEarlierWrite() {
        if (fence.unsettled()) {
            // briefly: the instance's later writes wait behind this one
            WriteFence.Outcome o = fence.settle(SETTLE_FIRST); // StoreUnavailableException: this write was not sent
            LOG.info("fleet: the earlier write etcd did not confirm in time is settled: {}", o);
        }
    }

    /**
     * A save that changes nothing in this instance's memory is still an answer about etcd: a
     * linearizable read must find etcd holding exactly this instance's intent for its upstreams,
     * or the instance is stale ({@link StateConflictException}: catch up, compute again).
     */
    private void confirm(Map<String, String> after) {
        GetResponse r;
        try {
            r = kv.get(bytes(EtcdKeys.UPSTREAMS), GetOption.builder().isPrefix(true).build())
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while reading etcd");
        } catch (ExecutionException | TimeoutException e) {
            throw new StoreUnavailableException("etcd could not confirm the current state within " + timeout.toMillis() + " ms");
        }
        Set<String> upstreams = new HashSet<>();
        after.keySet().forEach(k -> upstreams.add(EtcdKeys.upstreamOf(k)));
        Map<String, String> inEtcd = new TreeMap<>();
        for (KeyValue kv : r.getKvs()) {
            String key = kv.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length());
            if (upstreams.contains(EtcdKeys.upstreamOf(key))) {
                try {
                    inEtcd.put(key, EtcdKeys.canonical(key, kv.getValue().toString(StandardCharsets.UTF_8)));
                } catch (ConfigException e) {
                    // ignored here as by the mirror
                }
            }
        }
        if (!inEtcd.equals(new TreeMap<>(after))) {
            throw new StateConflictException("etcd changed since this instance applied it (revision " + r.getHeader().getRevision() + ")",
                    r.getHeader().getRevision());
        }
    }

    /**
     * The mod revision etcd must still have for a key for this change to be based on what is
     * current: 0 (absent) for a key the state did not have, else the revision that wrote the
     * value the state has. When a newer value was already seen, the change is stale right away.
     */
    private long basis(String key, String had) {
        if (had == null) {
            return 0;
        }
        EtcdMirror.Entry seen = mirror.entry(key);
        if (seen == null || !had.equals(seen.value())) {
            throw new StateConflictException("another instance changed " + key + " first",
                    seen == null ? 0 : seen.revision());
        }
        return seen.revision();
    }

    private ByteSequence bytes(String key) {
        return ByteSequence.from(prefix + key, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "etcd (cache: " + cache + ")";
    }
}
