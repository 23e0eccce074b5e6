package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Prerequisite;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The CI version of {@code bench/grpc.sh}: one short round (2 connections x 2 streams, 2 s per
 * target) of unary gRPC calls directly, through the packaged jar and through nginx's
 * {@code grpc_pass}. It proves the script still runs end to end (each target's first call
 * returns {@code grpc-status: 0}, checked by the script) and that every target served calls;
 * the figures themselves belong to full runs on a quiet machine.
 */
class GrpcBenchShortIT {
    private static final Pattern SUMMARY = Pattern.compile("mean calls/s: direct (\\d+), ours (\\d+), nginx (\\d+);");

    @Test
    void theScriptMeasuresEveryTarget() throws IOException, InterruptedException {
        for (String tool : new String[] {"h2load", "nginx", "curl"}) {
            Prerequisite.require(Prerequisite.onPath(tool), tool, "Install Debian's nghttp2-client, nginx and curl.");
        }
        Process p = new ProcessBuilder("bench/grpc.sh", "-d", "2", "-r", "1", "-w", "3", "-c", "2", "-m", "2")
                .redirectErrorStream(true).start();
        String out;
        try (var in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "bench/grpc.sh ends by itself");
        assertEquals(0, p.exitValue(), out);
        Matcher m = SUMMARY.matcher(out);
        assertTrue(m.find(), out);
        for (int i = 1; i <= 3; i++) {
            assertTrue(Long.parseLong(m.group(i)) > 0, "every target served calls: " + m.group());
        }
    }
}
