package io.upstreamproxy.upstream;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An upstream's door for requests (SPEC §13): how many of its requests hold a server now (its
 * {@code max_requests}), and the FIFO queue of those that found every server full, each let in
 * when a request of the upstream ends and frees a server (NGINX Plus {@code queue}, HAProxy's
 * server queues).
 *
 * <p>Nobody waits on a thread: a queued request is a {@link Waiter}, called back when a server
 * took it, or left by its timer or its departed client ({@link #leave}). A server frees when a
 * lease of this upstream ends ({@link Lease#whenEnded}), and capacity returns when a server comes
 * back into rotation, is added or gets a higher limit ({@link #wake}). One lock guards the queue; it is held for a few deque
 * operations and, while waking, one lease attempt per request let in (a pick and a
 * compare-and-set, {@link Waiter#tryLease}), never across I/O or a callback. A new request tries
 * for a server under the same lock when the queue is empty, so it cannot miss the wake-up of a
 * server freed just before it queued; when others wait it queues behind them.
 */
public final class Admission {
    /** A request waiting for a server. */
    public interface Waiter {
        /** A lease on a server for the request now, or null while every server is full; called under the queue's lock. */
        Lease tryLease();

        /** The request leaves the queue holding {@code lease}; called once, outside the lock, on the thread that freed the server. */
        void admitted(Lease lease);
    }

    /** What became of a request offered to the queue. */
    public enum Outcome { ADMITTED, QUEUED, FULL, OVERLOADED }

    /** One request's place: in the queue from {@link #offer} until admitted, timed out or gone. */
    public static final class Ticket {
        private final Waiter waiter;
        private long since;     // guarded by the admission's lock
        private volatile boolean waiting; // written under the admission's lock; read without it to skip a timer
        private Lease lease;    // guarded by this ticket

        public Ticket(Waiter waiter) {
            this.waiter = waiter;
        }

        /** Still in the queue: neither admitted nor gone. */
        public boolean isWaiting() {
            return waiting;
        }

        /** The lease of a request {@link Outcome#ADMITTED} at once. */
        public synchronized Lease lease() {
            return lease;
        }
    }

    private final Clock clock;
    private final UpstreamStats stats;
    private final ArrayDeque<Ticket> queue = new ArrayDeque<>(); // guarded by this
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile int depth;

    Admission(Clock clock, UpstreamStats stats) {
        this.clock = clock;
        this.stats = stats;
    }

    /** Requests that hold a server of the upstream now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** Requests in the queue now. */
    public int depth() {
        return depth;
    }

    /**
     * Counts one more request holding a server, unless {@code maxRequests} (0: no limit) already
     * do; a compare-and-set, so the limit holds however many arrive at once. A reservation that
     * got no lease is given back with {@link #unreserve}; one that did ends with it ({@link #hold}).
     */
    public boolean reserve(int maxRequests) {
        if (maxRequests <= 0) {
            inFlight.incrementAndGet();
            return true;
        }
        for (int n = inFlight.get(); ; n = inFlight.get()) {
            if (n >= maxRequests) {
                return false;
            }
            if (inFlight.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    public void unreserve() {
        inFlight.decrementAndGet();
    }

    /** {@code lease}, taken on a reservation, gives it back when it ends, and lets the next queued request in. */
    public Lease hold(Lease lease) {
        lease.whenEnded(this::released);
        return lease;
    }

    /**
     * Queues {@code t} at the back, or lets it in at once when nobody waits and a server is free
     * ({@link Outcome#ADMITTED}, its lease in {@link Ticket#lease}). Refused when {@code maxPending}
     * (0: none) already wait ({@link Outcome#OVERLOADED}) or {@code size} do ({@link Outcome#FULL}).
     */
    public Outcome offer(Ticket t, int size, int maxPending) {
        synchronized (this) {
            if (queue.isEmpty()) {
                Lease l = t.waiter.tryLease();
                if (l != null) {
                    synchronized (t) {
                        t.lease = l;
                    }
                    return Outcome.ADMITTED;
                }
            }
            if (maxPending > 0 && queue.size() >= maxPending) {
                return Outcome.OVERLOADED;
            }
            if (queue.size() >= size) {
                return Outcome.FULL;
            }
            t.since = clock.nanos();
            t.waiting = true;
            queue.addLast(t);
            depth = queue.size();
            // A lease that ended while this request found every server full read depth 0 and
            // let nobody in (released() takes no lock then): with depth now published, look once more.
            if (queue.peekFirst() == t) {
                Lease l = t.waiter.tryLease();
                if (l != null) {
                    queue.pollFirst();
                    t.waiting = false;
                    depth = queue.size();
                    synchronized (t) {
                        t.lease = l;
                    }
                    return Outcome.ADMITTED;
                }
            }
            return Outcome.QUEUED;
        }
    }

    /** {@code t}'s client went away: it leaves the queue now. False when it already left (admitted, timed out). */
    public boolean leave(Ticket t) {
        long waited;
        synchronized (this) {
            if (!t.waiting) {
                return false;
            }
            t.waiting = false;
            queue.remove(t);
            depth = queue.size();
            waited = clock.nanos() - t.since;
        }
        stats.waited(waited);
        return true;
    }

    /** {@code t}'s timeout passed: it leaves the queue, counted as timed out. False when it already left. */
    public boolean expire(Ticket t) {
        if (!leave(t)) {
            return false;
        }
        stats.queueTimedOut();
        return true;
    }

    /** A lease of this upstream ended: its server may take the first queued requests. */
    private void released() {
        inFlight.decrementAndGet();
        wake();
    }

    /**
     * A server of the upstream may take more than before (a lease ended, a server came back into
     * rotation, was added or got a higher {@code max_conns}): the first queued requests try for
     * it. Without anybody queued (the usual case) one volatile read, no lock.
     */
    public void wake() {
        if (depth > 0) {
            admit();
        }
    }

    private void admit() {
        List<Ticket> in = null;
        long now;
        synchronized (this) {
            if (queue.isEmpty()) {
                return;
            }
            now = clock.nanos();
            Ticket head;
            while ((head = queue.peekFirst()) != null) {
                Lease l = head.waiter.tryLease();
                if (l == null) {
                    break;
                }
                queue.pollFirst();
                head.waiting = false;
                synchronized (head) {
                    head.lease = l;
                }
                if (in == null) {
                    in = new ArrayList<>(1);
                }
                in.add(head);
            }
            depth = queue.size();
        }
        if (in == null) {
            return;
        }
        for (Ticket t : in) {
            stats.waited(now - t.since);
            t.waiter.admitted(t.lease());
        }
    }
}
