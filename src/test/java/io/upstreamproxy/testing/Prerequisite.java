package io.upstreamproxy.testing;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;

/**
 * What to do when a tool a test needs is not on this machine (a container, a browser, etcd,
 * promtool, curl, the packaged jar...): in CI ({@code CI=true}) the test fails and says what to
 * install, since .ci/run installs everything; on a developer's machine it is skipped, loudly,
 * with the same advice, so the count of skipped tests shows what did not run.
 */
public final class Prerequisite {
    private Prerequisite() {}

    /** Goes on when {@code present}; else fails in CI and skips elsewhere, naming {@code what} and how to get it. */
    public static void require(boolean present, String what, String howToGetIt) {
        if (!present) {
            missing(what + " is missing, so this was NOT tested. " + howToGetIt);
        }
    }

    /** Fails in CI, skips loudly elsewhere, with {@code message}. */
    public static void missing(String message) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("CI=true: " + message);
        }
        System.err.println("""

                ************************************************************************
                SKIPPED: %s
                ************************************************************************
                """.formatted(message));
        Assumptions.abort(message);
    }

    /** True when {@code name} is an executable file in a directory of {@code PATH}. */
    public static boolean onPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (java.nio.file.Files.isExecutable(java.nio.file.Path.of(d, name))) {
                return true;
            }
        }
        return false;
    }
}
