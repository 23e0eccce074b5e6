package io.upstreamproxy.proxy;

import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.ServerName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The proxy's own log lines about requests (the access log is separate): one place, one wording. */
final class Events {
    private static final Logger LOG = LoggerFactory.getLogger("io.upstreamproxy.proxy");

    private Events() {}

    /** {@code backend: GET /x retried on server 1 (127.0.0.1:9002) after server 0 (127.0.0.1:9001) failed: connect refused}. */
    static void retry(String method, String target, Server failed, Server next, String reason) {
        if (LOG.isWarnEnabled()) {
            LOG.warn("{}: {} {} retried on {} after {} failed: {}", failed.upstream(), method, target,
                    ServerName.of(next), ServerName.of(failed), reason);
        }
    }
}
