package io.upstreamproxy.upstream;

/**
 * One server's part in outlier detection: its current run of errors, how many times it was
 * ejected (the multiplier of the next ejection's time), and the ejection under way, if any.
 * The request path reads {@link #isEjected} (two volatile reads) and, on a success, the run
 * (one volatile read, a write only when a run was under way); errors and ejections take this
 * object's lock.
 */
public final class Ejection {
    private volatile int run;           // errors in a row; guarded by this for writes
    private String runKind;             // what the run's errors were ("503"), or "errors" when mixed; guarded by this
    private boolean erredSinceSweep;    // guarded by this
    private int times;                  // ejections not yet decayed: the next lasts base × (times + 1); guarded by this
    private volatile boolean ejected;
    private volatile long untilNanos;
    private volatile long untilMillis;
    private volatile String reason;
    private volatile long total;        // ejections ever (metrics); written under this

    /** Ejected now: its ejection began and its time is not over. */
    public boolean isEjected(long nowNanos) {
        return ejected && nowNanos - untilNanos < 0;
    }

    /** Nanoseconds from {@code nowNanos} until its ejection ends; 0 or less when it is not ejected. */
    long remainingNanos(long nowNanos) {
        return ejected ? untilNanos - nowNanos : 0;
    }

    /** Why it was ejected ("5 consecutive 503"); null when it is not. */
    public String reason() {
        return reason;
    }

    /** Wall time (ms) the ejection ends; meaningful while {@link #isEjected}. */
    public long untilMillis() {
        return untilMillis;
    }

    /** Times this server was ejected since it was added. */
    public long total() {
        return total;
    }

    synchronized int times() {
        return times;
    }

    /** Counts one error of {@code kind} ("503", "connect failed: ..."): the run's length now. */
    synchronized int erred(String kind) {
        erredSinceSweep = true;
        runKind = run == 0 || kind.equals(runKind) ? kind : "errors";
        return ++run;
    }

    /** A success ends the run. */
    void succeeded() {
        if (run != 0) {
            synchronized (this) {
                run = 0;
            }
        }
    }

    synchronized String describeRun() {
        return run + " consecutive " + runKind;
    }

    /** Ejects it from {@code nowNanos} ({@code nowMillis} on the wall) for {@code nanos}: its ({@code times}+1)th ejection. */
    synchronized void eject(long nowNanos, long nowMillis, long nanos, String why) {
        times++;
        total++;
        run = 0;
        reason = why;
        untilNanos = nowNanos + nanos;
        untilMillis = nowMillis + nanos / 1_000_000;
        ejected = true;
    }

    /** Ends the ejection (its time is over, or a health check passed); false when it was not ejected. */
    synchronized boolean end() {
        if (!ejected) {
            return false;
        }
        ejected = false;
        reason = null;
        return true;
    }

    /** Whether its ejection's time ran out by {@code nowNanos} (it still awaits {@link #end}). */
    boolean isOver(long nowNanos) {
        return ejected && nowNanos - untilNanos >= 0;
    }

    /**
     * An interval went by: a server in rotation that made no error during it has one ejection
     * forgiven (Envoy's rule), so the next ejection is shorter again.
     */
    synchronized void decay() {
        if (!ejected && !erredSinceSweep && times > 0) {
            times--;
        }
        erredSinceSweep = false;
    }
}
