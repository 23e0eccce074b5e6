package io.upstreamproxy.logging;

import java.io.PrintStream;
import java.util.Locale;
import org.eclipse.jetty.logging.JettyLogger;
import org.eclipse.jetty.logging.JettyLoggerFactory;
import org.eclipse.jetty.logging.StdErrAppender;
import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application log's level and timestamps, on the SLF4J binding the jar and the WAR carry
 * (jetty-slf4j-impl, configured by {@code jetty-logging.properties}: level INFO for our
 * packages, WARN for Jetty's, times in UTC).
 *
 * <p>Why not another binding: jetty-slf4j-impl is what Jetty itself logs through, it is
 * already in both artefacts, and its levels can be changed while running. Its one gap is the
 * timestamp, {@code 2025-01-31 12:00:00.123} with no zone; {@link IsoUtcLines} rewrites that
 * prefix to {@code 2025-01-31T12:00:00.123Z}, the access log's format. When another binding is
 * in charge, or the binding belongs to the container (the WAR in a standalone Jetty shares
 * its logging), nothing here changes anything: that log is the container's to configure.
 */
public final class LogSetup {
    private static final String OURS = "io.upstreamproxy";

    private LogSetup() {}

    /**
     * Sets our loggers' level ({@code trace} .. {@code off}; null leaves it as configured) and
     * makes the log's timestamps ISO-8601 UTC. Returns false when the binding is not ours.
     */
    public static boolean apply(String level) {
        return apply(level, false);
    }

    /**
     * As {@link #apply(String)}; {@code toJul}: hand the lines to java.util.logging instead of
     * stderr (the WAR in Tomcat, whose convention is JULI).
     */
    public static boolean apply(String level, boolean toJul) {
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (!(factory instanceof JettyLoggerFactory jetty) || JettyLoggerFactory.class.getClassLoader() != LogSetup.class.getClassLoader()) {
            return false; // another binding, or the container's own Jetty logging: the container's to configure
        }
        if (level != null) {
            jetty.setLoggerLevel(OURS, level.toUpperCase(Locale.ROOT));
        }
        Logger logger = jetty.getLogger(OURS);
        if (logger instanceof JettyLogger jl && jl.getAppender() instanceof StdErrAppender appender) {
            PrintStream stream = appender.getStream(); // null: the appender's default, System.err at each write
            if (stream == null) {
                stream = System.err;
            }
            if (toJul && !(stream instanceof JulLines)) {
                appender.setStream(new JulLines());
            } else if (!toJul && !(stream instanceof IsoUtcLines)) {
                appender.setStream(new IsoUtcLines(stream));
            }
        }
        return true;
    }
}
