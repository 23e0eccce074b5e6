package io.upstreamproxy.proxy;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.upstream.Clock;
import java.io.IOException;
import java.io.OutputStream;

/** Where the proxy reports each finished request: one access-log line per request. */
public interface AccessLog extends AutoCloseable {
    /** The log turned off. */
    AccessLog OFF = entry -> { };

    void log(Entry entry);

    /** Opens the log file again (after logrotate moved it); stderr has nothing to reopen. */
    default void reopen() {
    }

    /** Lines dropped so far because the output could not keep up. */
    default long dropped() {
        return 0;
    }

    /** Writes what is still queued and stops; the default has nothing to write. */
    @Override
    default void close() {
    }

    /** The usual log: lines written to {@code out} (stderr in the jar) by a background thread. */
    static AccessLog async(OutputStream out, Clock clock) {
        return new AsyncAccessLog(out, clock, AsyncAccessLog.DEFAULT_QUEUE, AccessLogFormat.DEFAULT);
    }

    /** The log {@code config} asks for: its format, to its file (appended to, created when missing) or stderr. */
    static AccessLog open(ProxyConfig.AccessLog config, Clock clock) throws IOException {
        OutputStream out = config.file() == null ? System.err : new ReopenableFile(config.file());
        return new AsyncAccessLog(out, clock, AsyncAccessLog.DEFAULT_QUEUE, AccessLogFormat.of(config.format()));
    }

    /**
     * One finished request. {@code server} is null when no server was picked; {@code wallMillis}
     * is when it ended; {@code bytes} the response body bytes; {@code referer} and
     * {@code userAgent} null when the request had none; {@code retried} the earlier attempts of a
     * retried request ({@code 127.0.0.1:9001 502 (connect refused)}, comma-separated), else null;
     * {@code requestId} the request's {@code X-Request-Id}, or null.
     */
    record Entry(long wallMillis, String client, String method, String target, String protocol, int status,
                 String upstream, String server, long millis, long bytes, String referer, String userAgent, String retried,
                 String requestId) {

        public Entry(long wallMillis, String client, String method, String target, String protocol, int status,
                     String upstream, String server, long millis, long bytes, String referer, String userAgent, String retried) {
            this(wallMillis, client, method, target, protocol, status, upstream, server, millis, bytes, referer, userAgent, retried, null);
        }

        /** An entry without the fields only some formats show (protocol, bytes, referer, user agent, retries). */
        public Entry(long wallMillis, String client, String method, String target, int status, String upstream, String server, long millis) {
            this(wallMillis, client, method, target, "HTTP/1.1", status, upstream, server, millis, 0, null, null, null, null);
        }
    }
}
