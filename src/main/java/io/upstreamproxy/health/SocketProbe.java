package io.upstreamproxy.health;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.proxy.OriginProbes;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * The {@code tcp} check (the connect succeeds) and the {@code agent} check (connect, read one
 * line, HAProxy agent-check words), on the proxy's own upstream client ({@link OriginProbes}):
 * the name resolved and every address tried as for requests, no thread waiting on a socket. The
 * tcp check does not wait for the server to speak first (a server that never greets, as most
 * HTTP servers, passes as soon as it accepts). One deadline covers name lookup, connect and read.
 */
final class SocketProbe implements Probe {
    /** An agent line longer than this is cut here (HAProxy reads one buffer). */
    static final int MAX_LINE = 1024;

    private final OriginProbes probes;
    private final long timeoutMillis;
    private final boolean agent;

    SocketProbe(OriginProbes probes, long timeoutMillis, boolean agent) {
        this.probes = probes;
        this.timeoutMillis = timeoutMillis;
        this.agent = agent;
    }

    @Override
    public CompletableFuture<CheckResult> check(HostPort target) {
        return probes.connect(target, agent ? MAX_LINE : 0, timeoutMillis).handle((bytes, failure) -> {
            if (failure != null) {
                String reason = Reasons.of(failure);
                return agent ? CheckResult.noAnswer(reason) : CheckResult.fail(reason);
            }
            if (!agent) {
                return CheckResult.pass();
            }
            if (bytes.length == 0) {
                return CheckResult.noAnswer("no reply");
            }
            String text = new String(bytes, StandardCharsets.UTF_8);
            return CheckResult.agent(text.lines().findFirst().orElse(""));
        });
    }
}
