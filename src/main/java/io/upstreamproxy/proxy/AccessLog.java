package io.upstreamproxy.proxy;

import io.upstreamproxy.upstream.Clock;
import java.io.OutputStream;

/** Where the proxy reports each finished request: one access-log line per request. */
public interface AccessLog extends AutoCloseable {
    /** The log turned off. */
    AccessLog OFF = entry -> { };

    void log(Entry entry);

    /** Writes what is still queued and stops; the default has nothing to write. */
    @Override
    default void close() {
    }

    /** The usual log: lines written to {@code out} (stderr in the jar) by a background thread. */
    static AccessLog async(OutputStream out, Clock clock) {
        return new AsyncAccessLog(out, clock, AsyncAccessLog.DEFAULT_QUEUE);
    }

    /**
     * One finished request. {@code server} is null when no server was picked; {@code wallMillis}
     * is when it ended.
     */
    record Entry(long wallMillis, String client, String method, String target, int status,
                 String upstream, String server, long millis) {

        /** The line after the timestamp: {@code 127.0.0.1 "GET /x?a=1" 200 backend 127.0.0.1:9001 3ms}. */
        void appendTo(StringBuilder line) {
            line.append(client).append(" \"").append(method).append(' ').append(target).append("\" ")
                    .append(status).append(' ').append(upstream).append(' ')
                    .append(server == null ? "-" : server).append(' ').append(millis).append("ms");
        }
    }
}
