package io.upstreamproxy.metrics;

import io.upstreamproxy.testing.Prerequisite;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** {@code promtool check metrics}, Prometheus's own linter for the text format (Debian package prometheus). */
final class Promtool {
    private Promtool() {}

    /** What promtool says about {@code text}; the empty string when it accepts it without a remark. */
    static String check(String text) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        } catch (IOException e) {
            Prerequisite.missing("promtool is not installed (" + e.getMessage() + "): apt-get install prometheus (.ci/run does)");
            throw e;
        }
        try (OutputStream in = p.getOutputStream()) {
            in.write(text.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("promtool did not finish");
        }
        if (p.exitValue() != 0 && out.isEmpty()) {
            return "promtool exit " + p.exitValue();
        }
        return p.exitValue() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }
}
