package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import java.util.ArrayList;
import java.util.List;

/** One client request on its way through the proxy: the upstream, the attempts so far, the body if buffered. */
final class Exchange {
    final Upstream upstream;
    final RequestInfo request;    // the balancer's view of the request, for the first pick and every retry
    final String target;          // path and query to send, without scheme and host
    final byte[] body;            // buffered body, or null (no body, or streamed)
    final boolean replayable;     // body can be sent again
    final boolean idempotent;
    final long startNanos;
    final List<Server> tried = new ArrayList<>(2);
    Server server;                // the current attempt's server
    ResponseWriter writer;        // writes the response body to the client
    volatile boolean headersReceived;
    volatile boolean clientFailed;

    Exchange(Upstream upstream, RequestInfo request, String target, byte[] body, boolean replayable, boolean idempotent, long startNanos) {
        this.upstream = upstream;
        this.request = request;
        this.target = target;
        this.body = body;
        this.replayable = replayable;
        this.idempotent = idempotent;
        this.startNanos = startNanos;
    }

    /** How many more servers may be tried after the current one. */
    boolean mayRetry() {
        int retries = upstream.config().retries();
        return retries < 0 || tried.size() <= retries;
    }

    boolean wasTried(Server s) {
        for (Server t : tried) {
            if (t == s) {
                return true;
            }
        }
        return false;
    }
}
