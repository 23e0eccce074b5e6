package io.upstreamproxy.container;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;

/**
 * What to do when a container is not on this machine: in CI ({@code CI=true}) the test fails and
 * says what to install; on a developer's machine it is skipped, loudly, with the same advice.
 */
final class Prerequisite {
    private Prerequisite() {}

    static void require(boolean present, String what, String howToGetIt) {
        if (present) {
            return;
        }
        String message = what + " is missing, so the WAR was NOT tested in it. " + howToGetIt;
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
}
