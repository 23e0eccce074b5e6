package io.upstreamproxy.upstream;

import io.upstreamproxy.balance.Endpoint;
import io.upstreamproxy.config.Durations;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;

/**
 * One server of an upstream at run time: its settings (an immutable {@link ServerConfig},
 * replaced whole on change), its counters and its passive-failure window.
 *
 * <p>Passive failures follow nginx: {@code max_fails} failures within {@code fail_timeout}
 * make the server unavailable for {@code fail_timeout}. When that time is up it gets traffic
 * again, but one more failure trips it at once until a success resets the count.
 *
 * <p>Slow start: a server that comes back into service (undrained, set up, healthy again after
 * failing its check, out of its passive-failure time, or added at run time) ramps its
 * {@link #effectiveWeight} from almost nothing to full over {@code slow_start}. Servers of the
 * config at start-up do not ramp (as HAProxy): all would ramp together and gain nothing.
 */
public final class Server implements Endpoint {
    private final int id;
    private final String upstream;
    private final Clock clock;
    private final ServerStats stats = new ServerStats();
    private volatile ServerConfig config;
    private final String key; // the address as text, built once: read on every request (a new address is a new Server)
    private volatile HealthStatus health = HealthStatus.UP;
    private final HealthCheckStats healthChecks = new HealthCheckStats();
    private volatile AgentState agent = AgentState.NONE;
    private final String stickyValue;
    private final Ejection ejection = new Ejection();
    private volatile OutlierDetector outliers = OutlierDetector.NONE;

    // Passive failure window: written under 'this' (failures are rare), read without a lock.
    private int failCount;
    private long windowStartNanos;
    private volatile long unavailableUntilNanos;

    // Slow start: when the server last came (back) into service. Plain volatile writes; the
    // writers (API, health checker, a request tripping max_fails) are rare and the last one wins.
    private volatile long rampStartNanos;
    private volatile boolean upBefore;
    private volatile Runnable weightListener = () -> {};
    private volatile Runnable roomListener = () -> {};
    private volatile ServerObserver observer = ServerObserver.NONE;

    // Out of rotation for failures or health (NGINX Plus downtime/downstart): guarded by 'this';
    // the transitions are rare, and the request path only reads 'out' (volatile) to skip the lock.
    private volatile boolean out;
    private boolean outPassiveOnly;
    private long outSinceNanos;
    private long outSinceMillis;
    private long downtimeNanos;

    public Server(int id, String upstream, ServerConfig config, Clock clock) {
        this.id = id;
        this.upstream = upstream;
        this.config = config;
        this.key = config.address().toString();
        this.stickyValue = Sticky.valueOf(upstream, id);
        this.clock = clock;
        this.unavailableUntilNanos = clock.nanos() - 1; // compared by difference: nanoTime may be negative
        this.rampStartNanos = clock.nanos() - ServerConfig.MAX_TIMEOUT.toNanos() - 1; // longer ago than any slow_start
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

    /** Replaces the settings; the address never changes for a server id. */
    public void update(ServerConfig next) {
        int before = config.weight();
        reconfigure(next);
        if (before != next.weight()) {
            weightListener.run();
        }
        roomListener.run(); // up, undrained or a higher max_conns: its upstream's queue may move
    }

    /**
     * Replaces the settings without telling the upstream: a reload republishes every server's
     * upstream once afterwards, rather than once per changed weight.
     */
    void reconfigure(ServerConfig next) {
        ServerConfig prev = config;
        if (!next.address().equals(prev.address())) { // key() is built once from it
            throw new IllegalArgumentException("server " + id + ": address " + next.address() + " in place of " + prev.address()
                    + " (a new address is a new server)");
        }
        if ((prev.down() || prev.drain()) && !next.down() && !next.drain()) {
            startSlowStart(); // before the new settings show, so no pick sees it back at full weight
        }
        config = next;
    }

    /** Called after a weight change, so the upstream republishes its list to the balancers (rings are built on weights). */
    void onWeightChange(Runnable listener) {
        weightListener = listener;
    }

    /**
     * Called when the server may take more requests than before (set up or undrained, healthy
     * again, ejection over, a higher limit), so its upstream lets queued requests in at once.
     */
    void onRoom(Runnable listener) {
        roomListener = listener;
    }

    /**
     * How long, in nanoseconds from {@code nowNanos}, until this server comes back into rotation
     * by itself (its ejection or its passive-failure time ends); -1 when it is in rotation, or
     * only an operator or a health check can bring it back.
     */
    long returnsInNanos(long nowNanos) {
        ServerConfig c = config;
        if (c.down() || c.drain() || health != HealthStatus.UP) {
            return -1;
        }
        long in = Math.max(unavailableUntilNanos - nowNanos, ejection.remainingNanos(nowNanos));
        return in > 0 ? in : -1;
    }

    /** Who hears of this server's responses, failures and rotation changes (set by its upstream). */
    void observe(ServerObserver o) {
        observer = o;
    }

    ServerObserver observer() {
        return observer;
    }

    /** Who counts this server's outcomes for outlier detection (set by its upstream). */
    void judgedBy(OutlierDetector d) {
        outliers = d;
    }

    /** Its outlier-detection state: ejected or not, why, until when. */
    public Ejection ejection() {
        return ejection;
    }

    /** What a sticky cookie names it by (see {@link Sticky#valueOf}). */
    public String stickyValue() {
        return stickyValue;
    }

    /** The server comes (back) into service now: its effective weight ramps over slow_start from here. */
    public void startSlowStart() {
        rampStartNanos = clock.nanos();
        upBefore = true;
    }

    public ServerStats stats() {
        return stats;
    }

    public HealthStatus health() {
        return health;
    }

    /**
     * Records the health check's verdict. Becoming UP after UNHEALTHY starts slow start; so does
     * CHECKING to UP, except for the first check of a server that has never been up (start-up).
     */
    public void setHealth(HealthStatus h) {
        setHealth(h, null);
    }

    /** As {@link #setHealth(HealthStatus)}, with the check's reason for the log ("status 500", "timeout"); null when none. */
    public void setHealth(HealthStatus h, String reason) {
        HealthStatus prev = health;
        if (h == HealthStatus.UP && (prev == HealthStatus.UNHEALTHY || (prev == HealthStatus.CHECKING && upBefore))) {
            startSlowStart();
        }
        if (h == HealthStatus.UP) {
            upBefore = true;
        }
        health = h;
        if (h != prev) {
            noteRotation(clock.nanos(), h == HealthStatus.UP ? "health check passed"
                    : h == HealthStatus.CHECKING ? "waiting for its first health check"
                    : "health check failed" + (reason == null ? "" : " (" + reason + ")"));
            if (h == HealthStatus.UP) {
                roomListener.run();
            }
        }
    }

    /** An active health check passed: an outlier ejection ends now (Envoy's default too). */
    public void healthCheckPassed() {
        if (outliers.checkPassed(this)) {
            roomListener.run();
        }
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
        AgentState prev = agent;
        agent = a;
        if (!a.equals(prev)) {
            roomListener.run(); // ready again, or a higher maxconn
        }
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public int weight() {
        return config.weight();
    }

    /**
     * The weight scaled by {@link Endpoint#WEIGHT_SCALE}, times the agent's {@code N%} when an
     * agent check says so, ramped linearly over slow_start since the server came back, never below 1.
     */
    @Override
    public int effectiveWeight(long nowNanos) {
        ServerConfig c = config;
        int full = agent.scale(c.weight() * WEIGHT_SCALE, ServerConfig.MAX_WEIGHT * WEIGHT_SCALE);
        long window = c.slowStart().toNanos();
        long elapsed = nowNanos - rampStartNanos;
        if (window == 0 || elapsed >= window) {
            return full;
        }
        // double: full (up to 100,000) times a window of up to a day in ns nears Long.MAX_VALUE
        return elapsed <= 0 ? 1 : Math.max(1, (int) (full * (double) elapsed / window));
    }

    @Override
    public int active() {
        return stats.active();
    }

    /** The recent header time as balancers see it: the moving average, halved for every 10 s without a response. */
    @Override
    public long headerNanos() {
        return stats.headerTime().decayed(clock.nanos());
    }

    /** True when the balancer may send this server a new request now. */
    public boolean isEligible(long nowNanos) {
        ServerConfig c = config;
        return inRotation(c, nowNanos) && hasRoom(c) && agent.admits(stats.active());
    }

    /**
     * True when a client bound to this server (sticky sessions) may send it a request now: as
     * {@link #isEligible}, except that a draining server (by the operator or its agent) still
     * takes its bound clients, so their sessions can end there.
     */
    public boolean admitsBound(long nowNanos) {
        ServerConfig c = config;
        int agentLimit = agent.maxConns();
        return serving(c, nowNanos) && hasRoom(c) && (agentLimit == 0 || stats.active() < agentLimit);
    }

    private boolean hasRoom(ServerConfig c) {
        return c.maxConns() == 0 || stats.active() < c.maxConns();
    }

    /**
     * In rotation as an operator sees it: not down, not draining, passing its checks, not
     * passively failed or ejected. Unlike {@link #isEligible} it ignores momentary capacity (max_conns,
     * the agent's maxconn).
     */
    public boolean isInRotation(long nowNanos) {
        return inRotation(config, nowNanos);
    }

    private boolean inRotation(ServerConfig c, long nowNanos) {
        return !c.drain() && serving(c, nowNanos);
    }

    /** Not down, passing its checks, neither passively failed nor ejected: drain aside, it may serve. */
    private boolean serving(ServerConfig c, long nowNanos) {
        return !c.down() && health == HealthStatus.UP && !isUnavailable(nowNanos) && !ejection.isEjected(nowNanos);
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
        if (ejection.isEjected(clock.nanos())) {
            return "ejected";
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

    /**
     * A request is being sent here, held by the returned {@link Lease} until it ends; null when
     * the server is at its {@code max_conns} (or the agent's maxconn) now. The count is taken
     * with a compare-and-set against the limit, so "at most max_conns" holds however many
     * requests pick this server at once (a pick alone only saw it below the limit a moment ago).
     */
    public Lease tryLease() {
        ServerConfig c = config;
        int limit = c.maxConns();
        int agentLimit = agent.maxConns();
        if (agentLimit > 0 && (limit == 0 || agentLimit < limit)) {
            limit = agentLimit;
        }
        if (!stats.tryStart(limit, clock.wallMillis())) {
            return null;
        }
        return new Lease(this);
    }

    /** The request got a response (any status): the server works, so the failure count resets. */
    public void onResponse(int status) {
        stats.ended(status);
        outliers.responded(this, status);
        if (failCount != 0) {
            synchronized (this) {
                failCount = 0;
            }
        }
        if (out) {
            noteRotation(clock.nanos(), null); // a passive failure's time may have run out
        }
    }

    /**
     * A response ended ({@code status} 0 when it was cut short after the headers): also records
     * its times, to the headers and to the last byte, and the body bytes sent and received.
     */
    public void onResponse(int status, long headerNanos, long responseNanos, long sentBytes, long receivedBytes) {
        stats.timed(clock.nanos(), headerNanos, responseNanos, sentBytes, receivedBytes);
        onResponse(status);
        observer.responded(this, status, headerNanos, responseNanos);
    }

    /**
     * The request ended for a reason that was not the server's (the client went away or sent
     * something broken, our own queue was full): it is no longer active, and nothing else about
     * the server changes, neither its failure count nor its response counters.
     */
    public void onAbandoned() {
        stats.ended(0);
    }

    /** The request failed to reach the server or timed out: counts towards max_fails. */
    public void onFailure() {
        onFailure("error");
    }

    /** As {@link #onFailure()}, with what went wrong in a few words ("connect refused", "timeout") for the log. */
    public void onFailure(String reason) {
        stats.ended(0);
        stats.failed();
        observer.failed(this, reason);
        outliers.failed(this, reason);
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
                rampStartNanos = now + window; // it comes back when the window ends, and ramps from there
                unavailableUntilNanos = now + window;
                stats.becameUnavailable();
                noteRotation(now, failCount + " failure(s) within fail_timeout " + Durations.format(c.failTimeout())
                        + ", last: " + reason + "; unavailable for " + Durations.format(c.failTimeout()));
            }
        }
    }

    /**
     * Follows moves out of and back into rotation for failures or health (not operator intent:
     * down and drain are the operator's, logged where they are made). {@code why} null: only a
     * passive failure's time running out can have changed anything.
     */
    private synchronized void noteRotation(long now, String why) {
        boolean passive = isUnavailable(now);
        boolean nowOut = health != HealthStatus.UP || passive;
        if (nowOut == out) {
            if (nowOut && health != HealthStatus.UP) {
                outPassiveOnly = false;
            }
            return;
        }
        if (nowOut) {
            out = true;
            outPassiveOnly = health == HealthStatus.UP;
            outSinceNanos = now;
            outSinceMillis = clock.wallMillis();
            observer.leftRotation(this, why == null ? "unavailable" : why);
        } else {
            // Out only for passive failures: it came back when fail_timeout ended, not when we noticed.
            long end = outPassiveOnly && unavailableUntilNanos - outSinceNanos > 0 ? Math.min(now, unavailableUntilNanos) : now;
            downtimeNanos += Math.max(0, end - outSinceNanos);
            out = false;
            observer.joinedRotation(this, why != null ? why : "fail_timeout over");
        }
    }

    /** Time spent out of rotation for failures or health, in ms, including the current spell (NGINX Plus {@code downtime}). */
    public synchronized long downtimeMillis() {
        long now = clock.nanos();
        noteRotation(now, null);
        return (downtimeNanos + (out ? now - outSinceNanos : 0)) / 1_000_000;
    }

    /** Wall time (ms) the server left rotation for failures or health, 0 while in rotation (NGINX Plus {@code downstart}). */
    public synchronized long downstartMillis() {
        noteRotation(clock.nanos(), null);
        return out ? outSinceMillis : 0;
    }

    @Override
    public String toString() {
        return upstream + "/" + id + "(" + key() + ")";
    }
}
