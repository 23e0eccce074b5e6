package io.upstreamproxy.health;

import io.upstreamproxy.config.HealthCheckConfig;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.proxy.OriginProbes;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * The {@code http} check (status in {@code ok_codes}, body containing a match of
 * {@code expect_body}) and the {@code http-agent} check (the first body line read as an agent
 * reply), sent by the proxy's own upstream client ({@link OriginProbes}): over TLS when the
 * upstream has it, with its PROXY header, on connections kept alive between checks.
 *
 * <p>Kept alive (as nginx's {@code keepalive_time} for checks): with 1,000 servers at 1 s, a new
 * connection per check cost about twice the CPU and left tens of thousands of sockets in
 * TIME_WAIT. A check whose connection broke after it opened is sent once more on a new one
 * before it counts as failed; a timeout or a refused connect is never repeated. The
 * body is read up to {@link #MAX_BODY} bytes; {@code expect_body} is matched against that much.
 */
final class HttpProbe implements Probe {
    static final int MAX_BODY = 64 * 1024;

    private final OriginProbes probes;
    private final ProxyConfig.UpstreamConfig upstream;
    private final HealthCheckConfig config;
    private final boolean agent;
    private final OriginProbes.Request request;

    HttpProbe(OriginProbes probes, ProxyConfig.UpstreamConfig upstream, HealthCheckConfig config, boolean agent) {
        this.probes = probes;
        this.upstream = upstream;
        this.config = config;
        this.agent = agent;
        this.request = new OriginProbes.Request(config.method(), config.uri(), config.headers(), config.body());
    }

    @Override
    public CompletableFuture<CheckResult> check(HostPort target) {
        return probes.http(upstream, target, request, MAX_BODY, config.timeout().toMillis())
                .handle((answer, failure) -> failure != null ? failed(Reasons.of(failure)) : judge(answer));
    }

    private CheckResult failed(String reason) {
        return agent ? CheckResult.noAnswer(reason) : CheckResult.fail(reason);
    }

    private CheckResult judge(OriginProbes.Answer answer) {
        if (!config.okCodes().matches(answer.status())) {
            return failed("status " + answer.status());
        }
        String text = new String(answer.body(), StandardCharsets.UTF_8);
        if (agent) {
            return CheckResult.agent(text.lines().findFirst().orElse(""));
        }
        if (config.expectBody() != null && !config.expectBody().matcher(text).find()) {
            return CheckResult.fail("body mismatch");
        }
        return CheckResult.pass();
    }
}
