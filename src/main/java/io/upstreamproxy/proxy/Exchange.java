package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.upstream.Lease;
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
    boolean bodyUnread;           // a streamed body not one byte of which was read yet (the failed attempt never connected): it may still go elsewhere
    final boolean idempotent;
    final long startNanos;
    final List<Server> tried = new ArrayList<>(2);
    final List<String> reasons = new ArrayList<>(2); // why each tried server failed, for the 502/504 body
    byte[] body;                  // buffered body once read, or null (no body, or streamed)
    Server server;                // the current attempt's server
    Lease lease;                  // the current attempt's hold on it, ended once whatever ends the attempt
    volatile boolean headersReceived;
    volatile Throwable clientFailure; // what went wrong on the client's side, if anything
    // The current attempt's timing and body bytes (plain fields: one attempt runs at a time, and
    // its callbacks are ordered by Jetty's client; the last one reads them).
    long attemptNanos;
    long headerNanos = -1;
    long sent;
    long received;
    int retries;                  // servers to try after the first: the route's retries, else the upstream's (-1: each once)
    String requestId;             // X-Request-Id, for the access log
    String retried;               // earlier attempts, "127.0.0.1:9001 502 (connect failed: Connection refused)", or null

    Exchange(Upstream upstream, RequestInfo request, String target, boolean replayable, boolean idempotent, long startNanos) {
        this.upstream = upstream;
        this.request = request;
        this.target = target;
        this.replayable = replayable;
        this.idempotent = idempotent;
        this.startNanos = startNanos;
        this.retries = upstream.config().retries();
    }

    /** How many more servers may be tried after the current one. */
    boolean mayRetry() {
        return retries < 0 || tried.size() <= retries;
    }

    /** A new attempt begins, holding {@code l}: its clock and byte counts start from zero. */
    void startAttempt(Lease l) {
        lease = l;
        server = l.server();
        tried.add(server);
        headersReceived = false;
        attemptNanos = System.nanoTime();
        headerNanos = -1;
        sent = body == null ? 0 : body.length;
        received = 0;
    }

    /** The current attempt failed with {@code status} (as the client would have seen it) and the next is about to start. */
    void attemptFailed(int status, String reason) {
        String line = server.key() + " " + status + " (" + reason + ")";
        retried = retried == null ? line : retried + ", " + line;
    }

    /** Reports the current attempt's response to its server: status, times and bytes. */
    void responded(int status) {
        long now = System.nanoTime();
        lease.responded(status, headerNanos < 0 ? now - attemptNanos : headerNanos, now - attemptNanos, sent, received);
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
