package io.upstreamproxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.logging.JettyLogger;
import org.eclipse.jetty.logging.StdErrAppender;
import org.slf4j.LoggerFactory;

/**
 * What the proxy and Jetty write to the server log (Jetty's SLF4J logger, shared by every
 * logger in the JVM) while this is open, instead of to stderr.
 */
public final class ServerLog implements AutoCloseable {
    private final StdErrAppender appender;
    private final PrintStream original;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    private ServerLog() {
        appender = (StdErrAppender) ((JettyLogger) LoggerFactory.getLogger(ServerLog.class)).getAppender();
        original = appender.getStream();
        appender.setStream(new PrintStream(captured, true, StandardCharsets.UTF_8));
    }

    public static ServerLog capture() {
        return new ServerLog();
    }

    public String text() {
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        appender.setStream(original);
    }
}
