package io.upstreamproxy.upstream;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A server's active health-check record, as the API shows it under {@code health_checks}:
 * {@code checks}, {@code fails}, {@code unhealthy} (times it became unhealthy),
 * {@code last_passed} and the last failure's time and reason ({@code "status 500"},
 * {@code "connect refused"}, {@code "timeout"}, {@code "body mismatch"}, {@code "agent: maint"}).
 *
 * <p>Written by the health checker (one check in flight per server), read by the API and the
 * status page at any time; each field is independently consistent, which is all a reader needs.
 */
public final class HealthCheckStats {
    private final AtomicLong checks = new AtomicLong();
    private final AtomicLong fails = new AtomicLong();
    private final AtomicLong unhealthy = new AtomicLong();
    private volatile long lastPassedMillis;
    private volatile long lastFailedMillis;
    private volatile String lastFailure;
    private volatile String agentReply;

    /** A check passed at {@code wallMillis}. */
    public void passed(long wallMillis) {
        checks.incrementAndGet();
        lastPassedMillis = wallMillis;
    }

    /** A check failed at {@code wallMillis}, for {@code reason}. */
    public void failed(long wallMillis, String reason) {
        checks.incrementAndGet();
        fails.incrementAndGet();
        lastFailedMillis = wallMillis;
        lastFailure = reason;
    }

    /** The server went from healthy (or checking) to unhealthy. */
    public void becameUnhealthy() {
        unhealthy.incrementAndGet();
    }

    /** The agent's last reply line, as received (agent checks only). */
    public void agentReplied(String line) {
        agentReply = line;
    }

    public long checks() {
        return checks.get();
    }

    public long fails() {
        return fails.get();
    }

    /** How many times the server became unhealthy. */
    public long unhealthy() {
        return unhealthy.get();
    }

    /** Wall time of the last passed check in ms, 0 when none passed yet. */
    public long lastPassedMillis() {
        return lastPassedMillis;
    }

    /** Wall time of the last failed check in ms, 0 when none failed yet. */
    public long lastFailedMillis() {
        return lastFailedMillis;
    }

    /** Why the last failed check failed; null when none failed yet. */
    public String lastFailure() {
        return lastFailure;
    }

    /** The agent's last reply line; null without an agent check or before its first answer. */
    public String agentReply() {
        return agentReply;
    }
}
