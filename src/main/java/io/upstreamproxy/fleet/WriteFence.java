package io.upstreamproxy.fleet;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.upstreamproxy.state.StoreUnavailableException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Makes every write of this instance to etcd settle one way or the other, so that an API answer
 * never lies: a write etcd did not confirm in time is either found committed, or fenced off so it
 * can never commit later (a leader can commit a proposal it held across a quorum loss; jetcd may
 * send a transaction again), or it stays unknown and no later write is sent until it is settled.
 *
 * <p>How: each write transaction also compares this instance's fence key ({@code fences/NAME})
 * with the mod revision last seen, and puts a new write id there. Settling a write that went
 * silent is one transaction: if the fence still has the revision the write compared, put a new
 * value (the silent write can no longer match: not committed, ever); else read the fence (it
 * holds the silent write's id: committed). Only this instance writes its fence, so the fence
 * costs no contention; instance names must be unique anyway.
 *
 * <p>Example: write w7 compares fence@40 and times out. Settling: fence@40 still? put "settle-w7"
 * at 45: w7, if it reaches etcd later, finds fence@45 and fails. Or fence@44 = "w7": committed.
 *
 * <p>Not thread-safe: used under the {@code ChangeApplier}'s write lock, one commit at a time.
 */
final class WriteFence {
    /** How a write that went silent turned out. */
    enum Outcome {
        COMMITTED, NOT_COMMITTED,
        /** Can no longer commit; whether it did before is only in etcd's history. */
        FENCED
    }

    /**
     * After a settling etcd did not answer, later writes are refused at once for this long rather
     * than each waiting out its own attempt behind the others on the instance's write lock (seen:
     * 8-9 s behind during an outage). Short: it also delays the first write after etcd's return.
     */
    private static final long RETRY_SETTLE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final KV kv;
    private final EtcdMirror mirror;
    private final String key;
    private final ByteSequence absoluteKey;
    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private long writes;
    private String silentId; // a write sent, not settled; null: none
    private long silentRevision; // the fence revision it compared
    private long settledAt; // the revision of the last settling
    private long lastFailedSettle = System.nanoTime() - RETRY_SETTLE_NANOS;

    WriteFence(KV kv, EtcdMirror mirror, String prefix, String instance) {
        this.kv = kv;
        this.mirror = mirror;
        this.key = "fences/" + instance;
        this.absoluteKey = ByteSequence.from(prefix + key, StandardCharsets.UTF_8);
    }

    /** A new id for the next write: this run's random part and a counter. */
    String nextId() {
        return run + "-" + (++writes);
    }

    /** The fence's mod revision as last seen (0: absent, which is also what etcd compares an absent key as). */
    long revision() {
        EtcdMirror.Entry e = mirror.entry(key);
        return e == null || e.value() == null ? 0 : e.revision();
    }

    Cmp guard(long revision) {
        return new Cmp(absoluteKey, Cmp.Op.EQUAL, CmpTarget.modRevision(revision));
    }

    Op put(String writeId) {
        return Op.put(absoluteKey, ByteSequence.from(writeId, StandardCharsets.UTF_8), PutOption.DEFAULT);
    }

    /** For a transaction's else branch: the fence's value, so a refused transaction can tell whether its own earlier attempt committed. */
    Op read() {
        return Op.get(absoluteKey, GetOption.DEFAULT);
    }

    /** The fence's value in a refused transaction's else branch ({@link #read}); null: absent. */
    static String heldValue(TxnResponse refused) {
        for (GetResponse g : refused.getGetResponses()) {
            if (!g.getKvs().isEmpty()) {
                return g.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** The fence's mod revision in a refused transaction's else branch (the revision of the write that holds it). */
    static long heldAt(TxnResponse refused) {
        for (GetResponse g : refused.getGetResponses()) {
            if (!g.getKvs().isEmpty()) {
                return g.getKvs().get(0).getModRevision();
            }
        }
        return 0;
    }

    /** Records what this instance committed (or read) of its fence. */
    void seen(String writeId, long revision) {
        mirror.merge(key, writeId, revision);
    }

    /** A write was sent and etcd said nothing in time: no later write goes until {@link #settle} says how it ended. */
    void silent(String writeId, long fenceRevision) {
        silentId = writeId;
        silentRevision = fenceRevision;
    }

    boolean unsettled() {
        return silentId != null;
    }

    private String unsettled(String how) {
        return "etcd " + how + " whether this instance's previous write (" + silentId + ") committed; no write is sent until it does";
    }

    /** The revision at which the last settled write was found committed (valid right after {@link #settle} said so). */
    long settledAt() {
        return settledAt;
    }

    /**
     * Settles the silent write, if any: COMMITTED or NOT_COMMITTED (fenced off, never to commit);
     * null when there was none.
     *
     * @throws StoreUnavailableException when etcd does not answer in time; the write stays unsettled
     */
    Outcome settle(Duration within) {
        if (silentId == null) {
            return null;
        }
        long now = System.nanoTime();
        if (now - lastFailedSettle < RETRY_SETTLE_NANOS) {
            throw new StoreUnavailableException(unsettled("did not say " + (now - lastFailedSettle) / 1_000_000 + " ms ago"));
        }
        String settler = "settle-" + silentId;
        TxnResponse r;
        try {
            r = kv.txn().If(guard(silentRevision)).Then(put(settler)).Else(read()).commit()
                    .get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted while settling an earlier write");
        } catch (ExecutionException | TimeoutException e) {
            // the settling transaction may itself land later: harmless, it only moves the fence
            lastFailedSettle = System.nanoTime();
            throw new StoreUnavailableException(unsettled("did not say within " + within.toMillis() + " ms"));
        }
        String id = silentId;
        silentId = null;
        if (r.isSucceeded()) {
            seen(settler, r.getHeader().getRevision());
            return Outcome.NOT_COMMITTED;
        }
        settledAt = heldAt(r);
        String held = heldValue(r);
        seen(held, settledAt);
        if (id.equals(held)) {
            return Outcome.COMMITTED;
        }
        // an earlier settling that went silent itself but landed: the fence had not moved then, so
        // the write had not committed; anything else (a second process under this name) moved it
        // too, and the write can no longer commit, but whether it did is only in etcd's history
        return settler.equals(held) ? Outcome.NOT_COMMITTED : Outcome.FENCED;
    }
}
