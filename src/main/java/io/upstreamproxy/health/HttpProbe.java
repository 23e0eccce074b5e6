package io.upstreamproxy.health;

import io.upstreamproxy.config.HealthCheckConfig;
import io.upstreamproxy.config.HostPort;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpHeader;

/**
 * The {@code http} check (status in {@code ok_codes}, body containing a match of
 * {@code expect_body}) and the {@code http-agent} check (the first body line read as an agent
 * reply), on Jetty's non-blocking client.
 *
 * <p>Each check opens a new connection and asks the server to close it ({@code Connection: close}),
 * as HAProxy and nginx do: it tests that the server still accepts connections, and it never
 * sends a check into a pooled connection the server is closing, which would be a false failure
 * on servers with a keep-alive timeout shorter than the interval. The body is read up to
 * {@link #MAX_BODY} bytes; {@code expect_body} is matched against that much.
 */
final class HttpProbe implements Probe {
    static final int MAX_BODY = 64 * 1024;

    private final HttpClient client;
    private final HealthCheckConfig config;
    private final boolean agent;

    HttpProbe(HttpClient client, HealthCheckConfig config, boolean agent) {
        this.client = client;
        this.config = config;
        this.agent = agent;
    }

    @Override
    public CompletableFuture<CheckResult> check(HostPort target) {
        CompletableFuture<CheckResult> done = new CompletableFuture<>();
        Request request = client.newRequest("http://" + target + config.uri())
                .method(config.method())
                .timeout(config.timeout().toMillis(), TimeUnit.MILLISECONDS)
                .headers(h -> {
                    h.put(HttpHeader.CONNECTION, "close");
                    config.headers().forEach(h::put);
                });
        if (config.body() != null) {
            request.body(new StringRequestContent(config.body()));
        }
        boolean keepBody = agent || config.expectBody() != null;
        request.send(new Response.Listener() {
            private byte[] body = new byte[0];

            @Override
            public void onContent(Response response, ByteBuffer content) {
                if (keepBody && body.length < MAX_BODY) {
                    int n = Math.min(content.remaining(), MAX_BODY - body.length);
                    int from = body.length;
                    body = Arrays.copyOf(body, from + n);
                    content.get(body, from, n);
                }
            }

            @Override
            public void onComplete(Result result) {
                done.complete(judge(result, new String(body, StandardCharsets.UTF_8)));
            }
        });
        return done;
    }

    private CheckResult judge(Result result, String body) {
        if (result.isFailed()) {
            String reason = Reasons.of(result.getFailure());
            return agent ? CheckResult.noAnswer(reason) : CheckResult.fail(reason);
        }
        int status = result.getResponse().getStatus();
        if (!config.okCodes().matches(status)) {
            return agent ? CheckResult.noAnswer("status " + status) : CheckResult.fail("status " + status);
        }
        if (agent) {
            return CheckResult.agent(body.lines().findFirst().orElse(""));
        }
        if (config.expectBody() != null && !config.expectBody().matcher(body).find()) {
            return CheckResult.fail("body mismatch");
        }
        return CheckResult.pass();
    }
}
