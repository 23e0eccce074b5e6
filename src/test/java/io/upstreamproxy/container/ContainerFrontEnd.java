package io.upstreamproxy.container;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Pattern;

/** A servlet container running the WAR under {@code prefix}, as a {@link FrontEndConformance.FrontEnd}. */
final class ContainerFrontEnd {
    private static final Pattern EXPECTED = Pattern.compile("no state\\.file in the config|: server \\d+ \\([^)]*\\) failed: | retried on server \\d+ ");

    private ContainerFrontEnd() {}

    static FrontEndConformance.FrontEnd of(RunningContainer container, String prefix) {
        return new FrontEndConformance.FrontEnd() {
            @Override
            public int port() {
                return container.port();
            }

            @Override
            public String prefix() {
                return prefix;
            }

            @Override
            public void assertNoProblems() {
                // What the suite provokes on purpose is logged as a warning, as it should be.
                List<String> problems = container.problems().stream().filter(l -> !EXPECTED.matcher(l).find()).toList();
                assertTrue(problems.isEmpty(), () -> "the container log has trouble from our webapp:\n" + String.join("\n", problems)
                        + "\n--- full log ---\n" + container.log());
            }

            @Override
            public void close() throws Exception {
                container.close();
            }
        };
    }
}
