package io.upstreamproxy.health;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Checks one server every {@code interval} on the shared scheduler. The next check is planned
 * when the previous one ends, so one server never has two checks in flight, even when the
 * timeout is longer than the interval. Rounds keep the phase the server was given at start
 * (its offset in the upstream), and each round adds a fresh random {@code jitter}, so servers
 * checked together stay spread instead of drifting into step.
 *
 * <p>A background task: every failure, even a bug of ours, is logged and the loop goes on.
 * Plans with the injected clock, which must share the scheduler's time base (in production
 * both are {@link System#nanoTime()}; in tests, both are moved by hand).
 */
final class ServerMonitor {
    private static final Logger LOG = LoggerFactory.getLogger(ServerMonitor.class);

    private final Server server;
    private final Upstream upstream;
    private final HostPort target;
    private final Probe probe;
    private final HealthTracker tracker;
    private final Scheduler scheduler;
    private final Clock clock;
    private final long intervalNanos;
    private final long jitterNanos;
    private volatile boolean stopped;
    private volatile Scheduler.Task next;
    private long plannedNanos; // when the current round was due, without jitter

    ServerMonitor(Server server, Upstream upstream, HostPort target, Probe probe, HealthTracker tracker,
                  Scheduler scheduler, Clock clock, long intervalNanos, long jitterNanos) {
        this.server = server;
        this.upstream = upstream;
        this.target = target;
        this.probe = probe;
        this.tracker = tracker;
        this.scheduler = scheduler;
        this.clock = clock;
        this.intervalNanos = intervalNanos;
        this.jitterNanos = jitterNanos;
    }

    /** Starts the loop; the first check runs after {@code offsetNanos} (plus jitter). */
    void start(long offsetNanos) {
        plannedNanos = clock.nanos() + offsetNanos;
        schedule(offsetNanos);
    }

    /** Stops the loop; a check in flight finishes but its result is dropped. */
    void stop() {
        stopped = true;
        Scheduler.Task t = next;
        if (t != null) {
            t.cancel();
        }
    }

    private void schedule(long delayNanos) {
        if (stopped) {
            return;
        }
        long jitter = jitterNanos > 0 ? ThreadLocalRandom.current().nextLong(jitterNanos) : 0;
        try {
            next = scheduler.schedule(this::run, delayNanos + jitter, TimeUnit.NANOSECONDS);
        } catch (RuntimeException e) {
            if (!stopped) { // the scheduler goes away only when the checker stops
                LOG.warn("{}: health check not scheduled", server, e);
            }
        }
    }

    private void run() {
        if (stopped) {
            return;
        }
        if (!upstream.servers().contains(server)) {
            // Removed since the checker's last sync (which will stop this loop): check it no more.
            // A scan of the snapshot per check, a few microseconds even for 1,000 servers.
            schedule(intervalNanos);
            return;
        }
        CompletableFuture<CheckResult> check;
        try {
            check = probe.check(target);
        } catch (RuntimeException e) {
            LOG.warn("{}: health check could not start", server, e);
            check = CompletableFuture.completedFuture(CheckResult.fail(Reasons.of(e)));
        }
        check.whenComplete(this::finished);
    }

    private void finished(CheckResult result, Throwable failure) {
        try {
            if (!stopped) {
                tracker.record(result != null ? result : CheckResult.fail(Reasons.of(failure)));
            }
        } catch (RuntimeException e) {
            LOG.warn("{}: health check result not recorded", server, e);
        } finally {
            long now = clock.nanos();
            plannedNanos += intervalNanos;
            if (plannedNanos - now < 0) {
                plannedNanos = now; // the check ran past its interval: check again now, from here on
            }
            schedule(plannedNanos - now);
        }
    }
}
