package io.upstreamproxy.container;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Finds the lines of a container's log that show trouble in our webapp: an error or warning
 * about it, an exception naming it, or a stack frame in our code. Lines about other parts of
 * the container (e.g. Tomcat's native-library notice) are not ours and are left alone.
 */
final class ContainerLog {
    /**
     * A line is about us when it names our packages, says "upstream-proxy" (our messages' prefix,
     * the WAR's display name that Jetty prints, our client thread pool's name), carries one of our
     * loggers as jetty-slf4j-impl condenses them ({@code :iuw.UpstreamProxyListener:}), or is
     * Tomcat speaking of a webapp ("Context [/lb] startup failed", "One or more listeners failed
     * to start", "The web application [lb] appears to have started a thread"): the private
     * containers host nothing else.
     */
    private static final Pattern OURS = Pattern.compile("io\\.upstreamproxy|upstream-proxy|:iu[a-z]*\\.\\w|web application \\[|Context \\[/"
            + "|listeners failed to start");
    private static final Pattern BAD_LEVEL = Pattern.compile("\\b(SEVERE|ERROR|WARN|WARNING)\\b");
    private static final Pattern EXCEPTION = Pattern.compile("\\w(Exception|Error)\\b");
    private static final Pattern OUR_FRAME = Pattern.compile("^\\s*at io\\.upstreamproxy\\.");

    private ContainerLog() {}

    /** The problem lines of {@code log}, in order; empty when the webapp ran cleanly. */
    static List<String> problems(String log) {
        return log.lines().filter(ContainerLog::isProblem).toList();
    }

    static boolean isProblem(String line) {
        if (OUR_FRAME.matcher(line).find()) {
            return true;
        }
        return OURS.matcher(line).find() && (BAD_LEVEL.matcher(line).find() || EXCEPTION.matcher(line).find());
    }
}
