package io.upstreamproxy.proxy;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * The connections to one server (one address, one upstream {@code tls} setting): the idle ones,
 * how many are open or opening, and the requests waiting for one when
 * {@code proxy.max_connections_per_server} are busy, at most {@code proxy.max_queued_per_server}
 * of them (then {@link RejectedExecutionException}, a 503 that is nobody's fault). Both limits
 * are read on every request, so a reload applies them at once. A waiting request may leave
 * ({@link #leave}): its upstream's {@code queue.timeout} passed, or its client went away.
 *
 * <p>Idle connections are kept per event loop (the listener selector they live on, see
 * {@code ProxyServerConnector}), and a request takes one of its client's loop first, then opens
 * one there while the limit allows, and only then takes another loop's: an exchange that stays
 * on one thread costs a sixth less CPU (docs/benchmark.md, sixth step). So a busy server may
 * have up to one set of connections per loop, as nginx has per worker. Within a loop the most
 * recently used idle connection goes first (a stack): the pool stays as small as the load
 * needs, and the connections left at the bottom reach their idle timeout and close
 * ({@link #closeExpired}). One lock
 * guards the fields; it is held for a few operations on array deques, never across I/O.
 */
final class OriginPool {
    /** A connection's read buffer, taken from Jetty's pool while it reads and given back when empty. */
    static final int BUFFER_BYTES = 16_384;

    /** Where a request waits for a connection. */
    interface Waiter {
        void onConnection(OriginConnection c);

        void onNoConnection(Throwable failure);

        /** The event loop of the client the request is for, or null: where a new connection opens and which idle ones come first. */
        default Object loop() {
            return null;
        }

        /**
         * How long a new connection for this request may take to open (a route's
         * {@code timeouts.connect}); 0: the client's {@code proxy.connect_timeout}.
         */
        default long connectTimeoutMillis() {
            return 0;
        }

        /** The PROXY protocol header a new connection for this request starts with, or null ({@code send_proxy_protocol}). */
        default ByteBuffer proxyHeader() {
            return null;
        }

        /** The request waits for the next freed connection: from now on it may {@link #leave} (its wait timed out, its client went away). */
        default void queued() {}
    }

    /**
     * A request that waited for a connection (or an HTTP/2 stream) longer than its upstream's
     * {@code queue.timeout}: a 503 that is nobody's fault. {@code what}: what never freed.
     */
    static final class WaitTimeout extends RejectedExecutionException {
        private static final long serialVersionUID = 1L;

        WaitTimeout(String what, String timeout) {
            super("no " + what + " freed within queue.timeout " + timeout + " (proxy.max_connections_per_server)");
        }
    }

    private final OriginClient client;
    private final OriginClient.Key key;
    private final IntSupplier maxConnections;
    private final IntSupplier maxQueued;
    private final Map<Object, ArrayDeque<OriginConnection>> idle = new HashMap<>(); // by event loop (null: none); guarded by this
    private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();        // guarded by this
    private int open;                                                     // guarded by this: open or opening

    /** How long an idle pooled connection stays open: {@code proxy.upstream_idle_timeout}, read as it goes idle (a reload applies). */
    long idleMillis() {
        return client.idleMillis();
    }

    OriginPool(OriginClient client, OriginClient.Key key, IntSupplier maxConnections, IntSupplier maxQueued) {
        this.client = client;
        this.key = key;
        this.maxConnections = maxConnections;
        this.maxQueued = maxQueued;
    }

    /** What this pool is for. */
    OriginClient.Key key() {
        return key;
    }

    /** Gives {@code w} a connection: an idle one, a new one, or the next one freed. */
    void acquire(Waiter w) {
        OriginConnection c;
        boolean connect = false;
        boolean queued = false;
        synchronized (this) {
            c = pollIdle(idle.get(w.loop()));
            if (c == null) {
                int max = maxConnections.getAsInt();
                if (max <= 0 || open < max) {
                    open++;
                    connect = true;
                } else if ((c = pollAnyIdle()) != null) {
                    // at the limit: another loop's connection, rather than a wait
                } else if (waiting.size() < maxQueued.getAsInt()) {
                    waiting.add(w);
                    queued = true;
                }
            }
        }
        if (queued) {
            w.queued();
        } else if (c != null) {
            w.onConnection(c);
        } else if (connect) {
            client.connect(this, key, w);
        } else {
            w.onNoConnection(new RejectedExecutionException("too many requests queued for this server"));
        }
    }

    /** {@code w} stops waiting for a connection; false when it is not waiting (it got one, or left already). */
    synchronized boolean leave(Waiter w) {
        return waiting.remove(w);
    }

    /**
     * Gives {@code w} a new connection, past the idle ones: for a request whose pooled
     * connection turned out stale (the others were idle as long). Counted as open at once; the
     * stale one may not be counted down yet, so the pool can be one over its limit for a moment.
     */
    void acquireNew(Waiter w) {
        synchronized (this) {
            open++;
        }
        client.connect(this, key, w);
    }

    private OriginConnection pollIdle(ArrayDeque<OriginConnection> stack) {
        OriginConnection c;
        while (stack != null && (c = stack.pollLast()) != null) {
            if (c.getEndPoint().isOpen()) {
                return c;
            }
        }
        return null; // a closed one taken out here is counted down by closed()
    }

    private OriginConnection pollAnyIdle() {
        for (ArrayDeque<OriginConnection> stack : idle.values()) {
            OriginConnection c = pollIdle(stack);
            if (c != null) {
                return c;
            }
        }
        return null;
    }

    /** {@code c} finished an exchange and may carry the next: to a waiting request, else idle. */
    void release(OriginConnection c) {
        if (key.proxyProtocol() != null) {
            c.close(); // its PROXY header named one client: never another's (closed() counts it down)
            return;
        }
        Waiter w;
        synchronized (this) {
            w = waiting.poll();
            if (w == null) {
                c.idleSince = System.nanoTime();
                idle.computeIfAbsent(c.loop, l -> new ArrayDeque<>()).offerLast(c);
                return;
            }
        }
        w.onConnection(c);
    }

    /** {@code c} closed (exactly once per connection that opened): a waiting request gets a new connection in its place. */
    void closed(OriginConnection c) {
        Waiter w;
        synchronized (this) {
            ArrayDeque<OriginConnection> stack = idle.get(c.loop);
            if (stack != null) {
                stack.remove(c);
            }
            w = waiting.poll();
            if (w == null) {
                open--;
                return;
            }
        }
        client.connect(this, key, w); // the closed connection's place goes to it
    }

    /** A connection could not be opened for {@code w}: its place is free again. */
    void connectFailed(Waiter w, Throwable failure) {
        synchronized (this) {
            open--;
        }
        w.onNoConnection(failure);
    }

    /** Open (or opening) connections and idle ones, for tests and the pool's debug view. */
    synchronized int[] counts() {
        return new int[] {open, idle.values().stream().mapToInt(ArrayDeque::size).sum(), waiting.size()};
    }

    /** The event loops of the idle connections, one entry per connection (tests). */
    synchronized List<Object> idleLoops() {
        List<Object> loops = new ArrayList<>();
        idle.forEach((loop, stack) -> stack.forEach(c -> loops.add(loop)));
        return loops;
    }

    /**
     * Closes the connections idle for {@code proxy.upstream_idle_timeout} or longer, as of
     * {@code now} ({@code System.nanoTime()}); {@link OriginClient} calls it now and then. The
     * oldest are at the bottom of each stack.
     */
    void closeExpired(long now) {
        long limit = TimeUnit.MILLISECONDS.toNanos(idleMillis());
        List<OriginConnection> expired = null;
        synchronized (this) {
            for (ArrayDeque<OriginConnection> stack : idle.values()) {
                OriginConnection c;
                while ((c = stack.peekFirst()) != null && now - c.idleSince >= limit) {
                    stack.pollFirst();
                    if (expired == null) {
                        expired = new ArrayList<>();
                    }
                    expired.add(c);
                }
            }
        }
        if (expired != null) {
            expired.forEach(OriginConnection::close); // closed() counts each down
        }
    }

    /** Closes the idle connections (the engine stops). */
    void closeIdle() {
        OriginConnection[] all;
        synchronized (this) {
            all = idle.values().stream().flatMap(ArrayDeque::stream).toArray(OriginConnection[]::new);
        }
        for (OriginConnection c : all) {
            c.close();
        }
    }
}
