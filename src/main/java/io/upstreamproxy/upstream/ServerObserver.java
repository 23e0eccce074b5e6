package io.upstreamproxy.upstream;

/**
 * What happens to servers, for whoever watches (metrics, the log): servers joining and leaving
 * an upstream, finished responses, passive failures and moves in or out of rotation. Every
 * method has an empty default, so callers never ask whether anyone listens.
 *
 * <p>{@link #responded} runs on the request path (the selector thread that read the
 * response): implementations must be cheap and never block.
 */
public interface ServerObserver {
    /** Watches nothing. */
    ServerObserver NONE = new ServerObserver() { };

    /** A server was added to its upstream (config, state file or API). */
    default void added(Server server) {
    }

    /** A server was removed from its upstream; requests in flight to it may still finish. */
    default void removed(Server server) {
    }

    /**
     * A response from {@code server} ended: {@code status} (0 when the exchange failed after
     * headers), the time to the response headers and to its last byte, in nanoseconds.
     */
    default void responded(Server server, int status, long headerNanos, long responseNanos) {
    }

    /** A request to {@code server} failed before a response (connect error, timeout): {@code reason} in a few words. */
    default void failed(Server server, String reason) {
    }

    /** The server left rotation: {@code why} says which (health check, passive failures) and the reason. */
    default void leftRotation(Server server, String why) {
    }

    /** The server is back in rotation; {@code why} says what brought it back. */
    default void joinedRotation(Server server, String why) {
    }

    /** Both observers, {@code first} then {@code second}. */
    static ServerObserver both(ServerObserver first, ServerObserver second) {
        if (first == NONE) {
            return second;
        }
        if (second == NONE) {
            return first;
        }
        return new ServerObserver() {
            @Override
            public void added(Server s) {
                first.added(s);
                second.added(s);
            }

            @Override
            public void removed(Server s) {
                first.removed(s);
                second.removed(s);
            }

            @Override
            public void responded(Server s, int status, long headerNanos, long responseNanos) {
                first.responded(s, status, headerNanos, responseNanos);
                second.responded(s, status, headerNanos, responseNanos);
            }

            @Override
            public void failed(Server s, String reason) {
                first.failed(s, reason);
                second.failed(s, reason);
            }

            @Override
            public void leftRotation(Server s, String why) {
                first.leftRotation(s, why);
                second.leftRotation(s, why);
            }

            @Override
            public void joinedRotation(Server s, String why) {
                first.joinedRotation(s, why);
                second.joinedRotation(s, why);
            }
        };
    }
}
