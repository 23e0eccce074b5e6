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
    final boolean replayable;     // body can be sent again (none, or buffered)
    final boolean idempotent;
    final long startNanos;
    final List<Server> tried = new ArrayList<>(2);
    final List<String> reasons = new ArrayList<>(2); // why each tried server failed, for the 502/504 body
    byte[] body;                  // buffered body once read, or null (no body, or streamed)
    Server server;                // the current attempt's server
    ResponseWriter writer;        // writes the response body to the client
    volatile boolean headersReceived;
    volatile Throwable clientFailure; // what went wrong on the client's side, if anything

    Exchange(Upstream upstream, RequestInfo request, String target, boolean replayable, boolean idempotent, long startNanos) {
        this.upstream = upstream;
        this.request = request;
        this.target = target;
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

    /** "upstream "web": 127.0.0.1:9001 (connect failed: Connection refused); 127.0.0.1:9002 (...)". */
    String attempts() {
        StringBuilder b = new StringBuilder("upstream \"").append(upstream.name()).append("\": ");
        for (int i = 0; i < tried.size(); i++) {
            b.append(i == 0 ? "" : "; ").append(tried.get(i).key());
            if (i < reasons.size()) {
                b.append(" (").append(reasons.get(i)).append(')');
            }
        }
        return b.toString();
    }
}
