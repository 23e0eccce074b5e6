package io.upstreamproxy.testing;

import java.time.Duration;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A Jetty {@link Scheduler} on a {@link ManualClock}: tasks run on the test's thread when the
 * test moves time past them with {@link #advance}, in due order, never on their own.
 */
public final class ManualScheduler extends AbstractLifeCycle implements Scheduler {
    private final ManualClock clock;
    private final PriorityQueue<Entry> due = new PriorityQueue<>();
    private long sequence;

    private final class Entry implements Comparable<Entry>, Task {
        final long at;
        final long order = sequence++;
        final Runnable task;
        boolean cancelled;

        Entry(long at, Runnable task) {
            this.at = at;
            this.task = task;
        }

        @Override
        public int compareTo(Entry o) {
            int c = Long.compare(at - clock.nanos(), o.at - clock.nanos());
            return c != 0 ? c : Long.compare(order, o.order);
        }

        @Override
        public boolean cancel() {
            boolean was = !cancelled;
            cancelled = true;
            return was;
        }
    }

    public ManualScheduler(ManualClock clock) {
        this.clock = clock;
    }

    @Override
    public synchronized Task schedule(Runnable task, long delay, TimeUnit units) {
        Entry e = new Entry(clock.nanos() + units.toNanos(Math.max(0, delay)), task);
        due.add(e);
        return e;
    }

    /** Moves the clock forward by {@code d} in steps of {@code step}, running every task that falls due on the way. */
    public void advance(Duration d, Duration step) {
        long end = clock.nanos() + d.toNanos();
        while (clock.nanos() - end < 0) {
            runDue();
            clock.advance(step);
        }
        runDue();
    }

    /** Runs the tasks due now (and those they schedule for now). */
    public void runDue() {
        while (true) {
            Entry next;
            synchronized (this) {
                next = due.peek();
                if (next == null || next.at - clock.nanos() > 0) {
                    return;
                }
                due.poll();
            }
            if (!next.cancelled) {
                next.task.run();
            }
        }
    }
}
