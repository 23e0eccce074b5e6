package io.upstreamproxy.logging;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Hands each line jetty-slf4j-impl would print ({@code 2025-01-31 12:00:00.123:WARN :iuu.ChangeApplier:main: text})
 * to java.util.logging instead, at the matching level: in Tomcat that is JULI, so the WAR's
 * lines land in Tomcat's own log files and format, with Tomcat's timestamps and levels.
 * The logger is {@code io.upstreamproxy}; the message keeps the condensed source name.
 */
final class JulLines extends PrintStream {
    private static final Logger JUL = Logger.getLogger("io.upstreamproxy");
    private static final int STAMP = "2025-01-31 12:00:00.123:".length();

    JulLines() {
        super(OutputStream.nullOutputStream(), true);
    }

    @Override
    public void println(Object x) {
        println(String.valueOf(x));
    }

    @Override
    public void println(String line) {
        if (line == null || line.length() <= STAMP || line.charAt(STAMP - 1) != ':') {
            JUL.info(line);
            return;
        }
        int end = line.indexOf(':', STAMP);
        String word = end < 0 ? "" : line.substring(STAMP, end).trim();
        Level level = switch (word) {
            case "ERROR" -> Level.SEVERE;
            case "WARN" -> Level.WARNING;
            case "DEBUG" -> Level.FINE;
            case "TRACE" -> Level.FINEST;
            default -> Level.INFO;
        };
        JUL.log(level, end < 0 ? line : line.substring(end + 1));
    }
}
