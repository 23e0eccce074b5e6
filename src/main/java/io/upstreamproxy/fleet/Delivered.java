package io.upstreamproxy.fleet;

import io.upstreamproxy.state.StoreUnavailableException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The etcd revision up to which every change under the prefix is in the {@link EtcdMirror} with
 * its apply run or queued on the sync thread: the watch's events come in revision order, so its
 * last event's; a full read's. The sync thread raises it; a writer whose commit etcd refused at
 * some revision waits here for the watch to bring that revision rather than reading everything.
 *
 * <p>A monitor, not a volatile: the writers block until a revision comes or their bound passes.
 */
final class Delivered {
    private long revision; // guarded by this

    /** Everything up to {@code revision} is merged and its apply queued; a lower revision changes nothing. */
    synchronized void upTo(long revision) {
        if (revision > this.revision) {
            this.revision = revision;
            notifyAll();
        }
    }

    /** Waits at most {@code bound} for {@code revision} to be delivered; false when it was not. */
    synchronized boolean await(long revision, Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        while (this.revision < revision) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreUnavailableException("interrupted while waiting for etcd's watch");
            }
        }
        return true;
    }
}
