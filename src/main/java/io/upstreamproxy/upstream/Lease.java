package io.upstreamproxy.upstream;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One request's hold on a server, from the moment it is sent there to its end: the one object
 * through which an attempt is counted in the server's {@code active}, and ended exactly once.
 * Its end is a compare-and-set, so whichever of the racing ends comes first (the response, a
 * timeout, the client leaving, a failed write) is the one that counts, and {@code active},
 * {@code max_conns}, least-conn and drain can never drift however the exchange ends.
 */
public final class Lease {
    private final Server server;
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile Runnable onEnd = () -> {};

    Lease(Server server) {
        this.server = server;
    }

    public Server server() {
        return server;
    }

    /**
     * Runs {@code task} once this lease ends, after its server counted the end (so the server
     * shows free to whoever {@code task} admits): its upstream's {@link Admission}.
     */
    public void whenEnded(Runnable task) {
        onEnd = task;
    }

    /** The server answered ({@code status} 0: cut short after the headers); false when already ended. */
    public boolean responded(int status, long headerNanos, long responseNanos, long sentBytes, long receivedBytes) {
        if (!end()) {
            return false;
        }
        server.onResponse(status, headerNanos, responseNanos, sentBytes, receivedBytes);
        onEnd.run();
        return true;
    }

    /** The server answered {@code status} (a WebSocket upgrade's, where no times are kept); false when already ended. */
    public boolean responded(int status) {
        if (!end()) {
            return false;
        }
        server.onResponse(status);
        onEnd.run();
        return true;
    }

    /** The server failed the request (counts towards max_fails, {@code reason} for the log); false when already ended. */
    public boolean failed(String reason) {
        if (!end()) {
            return false;
        }
        server.onFailure(reason);
        onEnd.run();
        return true;
    }

    /** The request ended for a reason that was not the server's; false when already ended. */
    public boolean abandoned() {
        if (!end()) {
            return false;
        }
        server.onAbandoned();
        onEnd.run();
        return true;
    }

    public boolean isEnded() {
        return ended.get();
    }

    private boolean end() {
        return ended.compareAndSet(false, true);
    }
}
