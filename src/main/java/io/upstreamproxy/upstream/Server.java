package io.upstreamproxy.upstream;

import io.upstreamproxy.balance.Endpoint;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;

/**
 * One server of an upstream at run time: its settings (an immutable {@link ServerConfig},
 * replaced whole on change), its counters and its passive-failure window.
 *
 * <p>Passive failures follow nginx: {@code max_fails} failures within {@code fail_timeout}
 * make the server unavailable for {@code fail_timeout}. When that time is up it gets traffic
 * again, but one more failure trips it at once until a success resets the count.
 */
public final class Server implements Endpoint {
    private final int id;
    private final String upstream;
    private final Clock clock;
    private final ServerStats stats = new ServerStats();
    private volatile ServerConfig config;
    private volatile HealthStatus health = HealthStatus.UP;
    private final HealthCheckStats healthChecks = new HealthCheckStats();
    private volatile AgentState agent = AgentState.NONE;

    // Passive failure window: written under 'this' (failures are rare), read without a lock.
    private int failCount;
    private long windowStartNanos;
    private volatile long unavailableUntilNanos;

    public Server(int id, String upstream, ServerConfig config, Clock clock) {
        this.id = id;
        this.upstream = upstream;
        this.config = config;
        this.clock = clock;
        this.unavailableUntilNanos = clock.nanos() - 1; // compared by difference: nanoTime may be negative
    }

    public int id() {
        return id;
    }

    public String upstream() {
        return upstream;
    }

    public HostPort address() {
        return config.address();
    }

    public ServerConfig config() {
        return config;
    }

    /** Replaces the settings; the address and backup flag never change for a server id. */
    public void update(ServerConfig next) {
        config = next;
    }

    public ServerStats stats() {
        return stats;
    }

    public HealthStatus health() {
        return health;
    }

    public void setHealth(HealthStatus h) {
        health = h;
    }

    /** The active health check's counters and last failure reason. */
    public HealthCheckStats healthChecks() {
        return healthChecks;
    }

    /** What the server's agent asked for; {@link AgentState#NONE} without an agent check. */
    public AgentState agent() {
        return agent;
    }

    public void setAgent(AgentState a) {
        agent = a;
    }

    @Override
    public String key() {
        return config.address().toString();
    }

    @Override
    public int weight() {
        return config.weight();
    }

    /** The configured weight, scaled by the agent's {@code N%} when an agent check says so. */
    @Override
    public int effectiveWeight(long nowNanos) {
        return agent.scale(config.weight());
    }

    @Override
    public int active() {
        return stats.active();
    }

    /** True when the balancer may send this server a new request now. */
    public boolean isEligible(long nowNanos) {
        ServerConfig c = config;
        return !c.down() && !c.drain() && health == HealthStatus.UP
                && !isUnavailable(nowNanos)
                && (c.maxConns() == 0 || stats.active() < c.maxConns())
                && agent.admits(stats.active());
    }

    /** Passively failed: tripped by max_fails and still inside fail_timeout. */
    public boolean isUnavailable(long nowNanos) {
        return nowNanos - unavailableUntilNanos < 0;
    }

    /** The state word operators see; operator intent first, then checks (and agent), then failures. */
    public String state() {
        ServerConfig c = config;
        if (c.down()) {
            return "down";
        }
        if (c.drain()) {
            return "draining";
        }
        if (health == HealthStatus.UNHEALTHY) {
            return "unhealthy";
        }
        if (health == HealthStatus.CHECKING) {
            return "checking";
        }
        if (agent.draining()) {
            return "draining";
        }
        if (isUnavailable(clock.nanos())) {
            return "unavail";
        }
        return "up";
    }

    /** A request is being sent here. */
    public void onRequestStart() {
        stats.started(clock.wallMillis());
    }

    /** The request got a response (any status): the server works, so the failure count resets. */
    public void onResponse(int status) {
        stats.ended(status);
        if (failCount != 0) {
            synchronized (this) {
                failCount = 0;
            }
        }
    }

    /** The request failed to reach the server or timed out: counts towards max_fails. */
    public void onFailure() {
        stats.ended(0);
        stats.failed();
        ServerConfig c = config;
        if (c.maxFails() == 0) {
            return;
        }
        long now = clock.nanos();
        long window = c.failTimeout().toNanos();
        synchronized (this) {
            if (failCount == 0 || (failCount < c.maxFails() && now - windowStartNanos > window)) {
                failCount = 0;
                windowStartNanos = now;
            }
            failCount++;
            if (failCount >= c.maxFails() && !isUnavailable(now)) {
                unavailableUntilNanos = now + window;
                stats.becameUnavailable();
            }
        }
    }

    @Override
    public String toString() {
        return upstream + "/" + id + "(" + key() + ")";
    }
}
