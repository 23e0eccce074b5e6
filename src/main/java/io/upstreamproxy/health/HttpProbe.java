package io.upstreamproxy.health;

import io.upstreamproxy.config.HealthCheckConfig;
import io.upstreamproxy.config.HostPort;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.Connection;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.util.Promise;

/**
 * The {@code http} check (status in {@code ok_codes}, body containing a match of
 * {@code expect_body}) and the {@code http-agent} check (the first body line read as an agent
 * reply), on Jetty's non-blocking client.
 *
 * <p>Connections are kept alive between checks (as nginx's {@code keepalive_time} for checks):
 * with 1,000 servers at 1 s, a new connection per check cost about twice the CPU (Jetty's
 * per-connection setup grows with the number of destinations) and left tens of thousands of
 * sockets in TIME_WAIT. The price is a race: a server may close an idle connection just as a
 * check is sent on it. So a check whose connection broke after it opened is sent once more, on
 * a connection opened for it alone, before it counts as failed; a timeout or a refused connect
 * is never repeated. The body is read up to {@link #MAX_BODY} bytes; {@code expect_body} is
 * matched against that much.
 */
final class HttpProbe implements Probe {
    static final int MAX_BODY = 64 * 1024;

    private final HttpClient client;
    private final HealthCheckConfig config;
    private final boolean agent;
    private final String scheme;
    private final Object proxyTag;

    /**
     * {@code scheme}: "http", or "https" with a {@code client} speaking the upstream's TLS;
     * {@code proxyTag}: Jetty's tag that makes a connection start with a PROXY protocol header
     * of the LOCAL kind ({@code send_proxy_protocol}), or null.
     */
    HttpProbe(HttpClient client, HealthCheckConfig config, boolean agent, String scheme, Object proxyTag) {
        this.proxyTag = proxyTag;
        this.client = client;
        this.scheme = scheme;
        this.config = config;
        this.agent = agent;
    }

    @Override
    public CompletableFuture<CheckResult> check(HostPort target) {
        CompletableFuture<CheckResult> done = new CompletableFuture<>();
        Attempt first = new Attempt(target);
        first.request.send(result -> {
            if (result.isFailed() && Reasons.connectionBroke(result.getFailure())) {
                retryOnNewConnection(target, done);
            } else {
                done.complete(first.judge(result));
            }
        });
        return done;
    }

    private void retryOnNewConnection(HostPort target, CompletableFuture<CheckResult> done) {
        Attempt retry = new Attempt(target);
        client.resolveDestination(retry.request).newConnection(Promise.from(
                (Connection connection) -> connection.send(retry.request, result -> {
                    connection.close(); // opened for this check alone, never pooled
                    done.complete(retry.judge(result));
                }),
                failure -> done.complete(failed(Reasons.of(failure)))));
    }

    private CheckResult failed(String reason) {
        return agent ? CheckResult.noAnswer(reason) : CheckResult.fail(reason);
    }

    /** One request and the part of the body it keeps. */
    private final class Attempt {
        final Request request;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();

        Attempt(HostPort target) {
            request = client.newRequest(scheme + "://" + target + config.uri())
                    .method(config.method())
                    .timeout(config.timeout().toMillis(), TimeUnit.MILLISECONDS)
                    .headers(h -> config.headers().forEach(h::put));
            if (proxyTag != null) {
                request.tag(proxyTag); // a destination of its own, whose connections send the header first
            }
            if (config.body() != null) {
                request.body(new StringRequestContent(config.body()));
            }
            if (agent || config.expectBody() != null) {
                request.onResponseContent((response, content) -> {
                    int n = Math.min(content.remaining(), MAX_BODY - body.size());
                    byte[] bytes = new byte[n];
                    content.get(bytes);
                    body.write(bytes, 0, n);
                });
            }
        }

        CheckResult judge(Result result) {
            if (result.isFailed()) {
                return failed(Reasons.of(result.getFailure()));
            }
            int status = result.getResponse().getStatus();
            if (!config.okCodes().matches(status)) {
                return failed("status " + status);
            }
            String text = body.toString(StandardCharsets.UTF_8);
            if (agent) {
                return CheckResult.agent(text.lines().findFirst().orElse(""));
            }
            if (config.expectBody() != null && !config.expectBody().matcher(text).find()) {
                return CheckResult.fail("body mismatch");
            }
            return CheckResult.pass();
        }
    }
}
