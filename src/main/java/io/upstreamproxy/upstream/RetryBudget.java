package io.upstreamproxy.upstream;

/**
 * An upstream's retry budget (SPEC §13, Linkerd's and Envoy's idea): retries within
 * {@code percent} of its requests over the last 10 s, plus {@code min_per_second} for each second
 * of that window the budget has existed, so a failing upstream gets at most about
 * {@code 1 + percent/100} times its traffic instead of one attempt per server.
 *
 * <p>Ten one-second buckets of requests and retries, reused as time moves on (a bucket older
 * than the window is zeroed when its slot comes round again). Example at 20 % and 3/s: 100
 * requests in the first second allow 20 + 3 = 23 retries; ten seconds later, with no new
 * requests, those 100 have left the window and 30 (3 × 10) are allowed. Synchronized: one
 * short critical section per request of an upstream that has a budget; none without one.
 */
public final class RetryBudget {
    private static final int SECONDS = 10;
    private static final long SECOND = 1_000_000_000L;

    private final Clock clock;
    private final long firstSecond;
    private final long[] second = new long[SECONDS];   // which second each bucket counts; guarded by this
    private final long[] requests = new long[SECONDS]; // guarded by this
    private final long[] retries = new long[SECONDS];  // guarded by this

    public RetryBudget(Clock clock) {
        this.clock = clock;
        this.firstSecond = Math.floorDiv(clock.nanos(), SECOND);
        java.util.Arrays.fill(second, Long.MIN_VALUE);
    }

    /** A request of the upstream started (a first attempt; retries are counted by {@link #tryRetry}). */
    public synchronized void requested() {
        requests[bucket(Math.floorDiv(clock.nanos(), SECOND))]++;
    }

    /** Takes one retry from the budget; false (nothing taken) when it is spent. */
    public synchronized boolean tryRetry(int percent, int minPerSecond) {
        long now = Math.floorDiv(clock.nanos(), SECOND);
        int b = bucket(now);
        long req = 0;
        long ret = 0;
        for (int i = 0; i < SECONDS; i++) {
            if (now - second[i] < SECONDS) {
                req += requests[i];
                ret += retries[i];
            }
        }
        long seconds = Math.min(SECONDS, now - firstSecond + 1);
        if (ret >= req * percent / 100 + minPerSecond * seconds) {
            return false;
        }
        retries[b]++;
        return true;
    }

    /** The bucket of second {@code s}, emptied first when it last counted an older second. */
    private int bucket(long s) {
        int i = (int) Math.floorMod(s, (long) SECONDS);
        if (second[i] != s) {
            second[i] = s;
            requests[i] = 0;
            retries[i] = 0;
        }
        return i;
    }
}
