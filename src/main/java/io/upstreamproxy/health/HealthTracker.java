package io.upstreamproxy.health;

import io.upstreamproxy.upstream.AgentState;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.HealthCheckStats;
import io.upstreamproxy.upstream.HealthStatus;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.ServerName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rise/fall state machine of one server (nginx's {@code fails}/{@code passes}, HAProxy's
 * {@code fall}/{@code rise}): only consecutive results flip its health, so one lost packet
 * does not empty an upstream.
 *
 * <pre>
 *   UP        --{fails} failures in a row-->  UNHEALTHY
 *   UNHEALTHY --{passes} passes in a row-->   UP
 *   CHECKING  --first pass--> UP, --first failure--> UNHEALTHY    (mandatory: the first verdict decides)
 * </pre>
 * With fails 2 and passes 2, results {@code F P F F P P} keep the server up until the fourth,
 * make it unhealthy there, and healthy again at the sixth.
 *
 * <p>Agent replies: the state word persists until another one arrives, as in HAProxy
 * ({@code drain} then {@code 50%} stays drained). {@code maint}/{@code down}/{@code fail}/{@code stopped}
 * make the check fail ("agent: maint") and go through the thresholds like any failure;
 * {@code drain}, {@code N%} and {@code maxconn:N} go to the server's {@link AgentState}, never
 * to the operator's own drain/down settings. An agent that gives no answer changes nothing.
 *
 * <p>Called by one check at a time per server; synchronized anyway, the lock is never contended.
 */
final class HealthTracker {
    private static final Logger LOG = LoggerFactory.getLogger(HealthTracker.class);

    private final Server server;
    private final int fails;
    private final int passes;
    private final Clock clock;
    private int passRun;
    private int failRun;
    private AgentReply.Mode agentMode = AgentReply.Mode.READY;
    private String agentWord = "up";

    HealthTracker(Server server, int fails, int passes, Clock clock) {
        this.server = server;
        this.fails = fails;
        this.passes = passes;
        this.clock = clock;
    }

    synchronized void record(CheckResult result) {
        CheckResult r = result.agent() == null ? result : judgeAgent(result);
        HealthCheckStats stats = server.healthChecks();
        long now = clock.wallMillis();
        HealthStatus health = server.health();
        switch (r.outcome()) {
            case PASS -> {
                stats.passed(now);
                server.healthCheckPassed();
                failRun = 0;
                passRun = Math.min(passRun + 1, passes); // capped: runs only need to reach the threshold
                if (health == HealthStatus.CHECKING || (health == HealthStatus.UNHEALTHY && passRun >= passes)) {
                    server.setHealth(HealthStatus.UP, null); // the server's observers log the move into rotation
                }
            }
            case FAIL -> {
                stats.failed(now, r.reason());
                passRun = 0;
                failRun = Math.min(failRun + 1, fails);
                if (health == HealthStatus.CHECKING || (health == HealthStatus.UP && failRun >= fails)) {
                    server.setHealth(HealthStatus.UNHEALTHY, r.reason());
                    stats.becameUnhealthy();
                    if (health == HealthStatus.CHECKING) { // never was in rotation: no move to log, but say why
                        LOG.warn("{}: {} failed its first health check: {}", server.upstream(), ServerName.of(server), r.reason());
                    }
                }
            }
            case NO_ANSWER -> stats.failed(now, r.reason()); // counted and shown, but no verdict
        }
    }

    /** Applies an agent's reply to the server's agent state and turns it into a pass or a failure. */
    private CheckResult judgeAgent(CheckResult r) {
        AgentReply reply = r.agent();
        server.healthChecks().agentReplied(r.agentLine()); // first: whoever sees the new state also sees the line
        if (reply.mode() != null) {
            agentMode = reply.mode();
            agentWord = reply.word();
        }
        AgentState before = server.agent();
        AgentState after = new AgentState(agentMode == AgentReply.Mode.DRAIN,
                reply.weightPercent() >= 0 ? reply.weightPercent() : before.weightPercent(),
                reply.maxConns() >= 0 ? reply.maxConns() : before.maxConns());
        if (!after.equals(before)) {
            server.setAgent(after);
            LOG.info("{} agent says \"{}\": drain {}, weight {}%, maxconn {}", server, r.agentLine().strip(),
                    after.drain(), after.weightPercent(), after.maxConns());
        }
        return agentMode == AgentReply.Mode.MAINT ? CheckResult.fail("agent: " + agentWord) : CheckResult.pass();
    }
}
