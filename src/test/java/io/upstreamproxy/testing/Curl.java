package io.upstreamproxy.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the system's curl (or another command-line client) and returns what it printed. */
public final class Curl {
    private Curl() {}

    /** {@code curl -sS <args>}; stdout, or an AssertionError with stderr when it exits non-zero. */
    public static String run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20"));
        command.addAll(List.of(args));
        Result r = exec(command);
        if (r.code != 0) {
            throw new AssertionError(String.join(" ", command) + " exited " + r.code + ": " + r.err);
        }
        return r.out;
    }

    /** What a command printed and how it ended. */
    public record Result(int code, String out, String err) {}

    public static Result exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                throw new AssertionError(String.join(" ", command) + " did not end in 30 s");
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Result(p.exitValue(), out, err);
        } finally {
            p.destroyForcibly();
        }
    }
}
