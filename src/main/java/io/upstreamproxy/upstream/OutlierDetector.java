package io.upstreamproxy.upstream;

import io.upstreamproxy.config.Durations;
import io.upstreamproxy.config.OutlierConfig;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.function.Supplier;

/**
 * An upstream's outlier detection (SPEC §13, Envoy's consecutive-errors detector): every
 * response and failure of its servers is counted here, and a server whose last
 * {@code consecutive_errors} outcomes were all errors (a status of the list, or a failure to
 * reach it or a timeout) is ejected, unless that would make more than
 * {@code max_ejection_percent} of the upstream's servers ejected at once.
 *
 * <p>Example with consecutive_errors 3, base 30 s, 4 servers, 50 %: a answers 503 503 503:
 * ejected for 30 s. b then does: ejected (2 of 4). c then does: stays, 3 of 4 would exceed 50 %,
 * and is ejected by its next error once a or b is back. a, back, errs three times more before
 * an interval went by: ejected for 60 s. Each interval it then spends in rotation without an
 * error takes one ejection off its count: after two, its next ejection is 30 s again.
 *
 * <p>An ejection's end is exact: eligibility compares the clock with its end. The sweep (every
 * {@code interval}, run by whichever outcome or read comes first after it is due, so no thread
 * of its own) logs the return and decays the ejection counts. A passing active health check
 * ends an ejection at once.
 */
public final class OutlierDetector {
    /** Counts nothing: a server's detector until its upstream hands it its own. */
    static final OutlierDetector NONE = new OutlierDetector(null, Clock.SYSTEM, List::of);

    private final Clock clock;
    private final Supplier<List<Server>> servers;
    private volatile Settings settings; // null: off
    private volatile long nextSweepNanos;

    private record Settings(OutlierConfig config, BitSet statuses) {}

    OutlierDetector(OutlierConfig config, Clock clock, Supplier<List<Server>> servers) {
        this.clock = clock;
        this.servers = servers;
        configure(config);
    }

    /** New settings (a reload); null turns detection off and ends every ejection. */
    void configure(OutlierConfig config) {
        if (config == null) {
            settings = null;
            for (Server s : servers.get()) {
                end(s, "outlier_detection turned off");
            }
            return;
        }
        BitSet statuses = new BitSet(600);
        config.statuses().forEach(statuses::set);
        settings = new Settings(config, statuses);
        nextSweepNanos = clock.nanos() + config.interval().toNanos();
    }

    /** A response from {@code s} ended with {@code status}; 0 (cut short after its head) counts neither way. */
    void responded(Server s, int status) {
        Settings c = settings;
        if (c == null || status == 0) {
            return;
        }
        if (c.statuses().get(status)) {
            erred(s, c, Integer.toString(status));
        } else {
            s.ejection().succeeded();
        }
        sweepIfDue();
    }

    /** A request to {@code s} failed before any response (connect error, timeout, reset). */
    void failed(Server s, String reason) {
        Settings c = settings;
        if (c == null) {
            return;
        }
        erred(s, c, reason);
        sweepIfDue();
    }

    private void erred(Server s, Settings c, String kind) {
        Ejection e = s.ejection();
        if (e.erred(kind) >= c.config().consecutiveErrors() && !e.isEjected(clock.nanos())) {
            tryEject(s, c.config());
        }
    }

    /** Ejects {@code s} unless that takes the upstream past max_ejection_percent (it stays, and its next error asks again). */
    private synchronized void tryEject(Server s, OutlierConfig c) {
        long now = clock.nanos();
        Ejection e = s.ejection();
        if (e.isEjected(now)) {
            return;
        }
        List<Server> all = servers.get();
        int ejected = 0;
        for (Server other : all) {
            if (other.ejection().isEjected(now)) {
                ejected++;
            }
        }
        if ((ejected + 1) * 100L > (long) all.size() * c.maxEjectionPercent()) {
            return;
        }
        Duration time = c.ejectionTime(e.times() + 1);
        String why = e.describeRun();
        e.eject(now, clock.wallMillis(), time.toNanos(), why);
        s.observer().leftRotation(s, "ejected for " + Durations.format(time) + ": " + why);
    }

    /** An active health check passed: an ejection of {@code s} ends now; false when it was not ejected. */
    boolean checkPassed(Server s) {
        return end(s, "health check passed");
    }

    private boolean end(Server s, String why) {
        if (s.ejection().end()) {
            s.observer().joinedRotation(s, "ejection over: " + why);
            return true;
        }
        return false;
    }

    /** Logs the ejections that are over and decays the counts, when an interval has gone by since the last sweep. */
    public void sweepIfDue() {
        Settings c = settings;
        long now = clock.nanos();
        if (c == null || now - nextSweepNanos < 0) {
            return;
        }
        synchronized (this) {
            if (now - nextSweepNanos < 0) {
                return; // another thread swept meanwhile
            }
            nextSweepNanos = now + c.config().interval().toNanos();
            for (Server s : servers.get()) {
                Ejection e = s.ejection();
                e.decay(); // first: a server that was ejected during this interval is not forgiven for it
                if (e.isOver(now)) {
                    end(s, "its time is up");
                }
            }
        }
    }
}
