package io.upstreamproxy.proxy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;

/**
 * The HTTP/2 connections to one server ({@code "protocol": "h2c"} or {@code "h2"}): each carries
 * up to {@code max_concurrent_streams} requests at once (or fewer, when the server's SETTINGS
 * say so), and a new connection opens only when every open one is full. So ten requests at once
 * with a limit of 4 use three connections (4, 4, 2), and one at a time uses one connection.
 * While a connection opens, the requests that fit on it wait for it rather than open more.
 * When {@code proxy.max_connections_per_server} connections are full, requests queue (up to
 * {@code proxy.max_queued_per_server}) for the next stream that ends; a queued request may
 * {@link #leave}, as one waiting for an HTTP/1.1 connection may ({@link OriginPool}).
 *
 * <p>One lock guards the lists; it is held for a few list operations, never across I/O. A
 * connection the server closed or said GOAWAY on takes no new streams; its streams in flight
 * finish or fail on their own.
 */
final class StreamPool {
    /** Opens connections ({@link StreamClient#connect}; tests pass their own). */
    interface Connector {
        void connect(StreamClient.Key key, Session.Listener listener, Promise<Session> done);
    }

    /** Where a request waits for a stream's place on a connection. */
    interface Waiter {
        void onSession(Conn c);

        void onNoSession(Throwable failure);

        /**
         * Every connection is full at {@code proxy.max_connections_per_server}: the request waits
         * for the next freed place, and {@code leave} takes it out of that wait (its upstream's
         * {@code queue.timeout} passed, its client went away); false once it got its place.
         */
        default void queued(BooleanSupplier leave) {
        }
    }

    /** One connection: its session once open, and how many streams it carries or has promised. */
    final class Conn implements Session.Listener {
        private Session session;           // guarded by the pool; null until connected and settled
        private Session created;           // guarded by the pool: the session once the connect completed
        private boolean settled;           // guarded by the pool: the server's first SETTINGS arrived
        private int streams;               // guarded by the pool: open or promised to a waiter
        private int serverMax = Integer.MAX_VALUE; // guarded by the pool: the server's SETTINGS_MAX_CONCURRENT_STREAMS
        private boolean closed;            // guarded by the pool
        private final List<Waiter> waiters = new ArrayList<>(); // guarded by the pool, while connecting

        Session session() {
            synchronized (StreamPool.this) {
                return session;
            }
        }

        /** A stream promised on this connection ended (or never opened): its place is free. */
        void release() {
            Waiter next;
            synchronized (StreamPool.this) {
                streams--;
                next = closed ? null : queued.poll();
                if (next != null) {
                    streams++;
                }
            }
            if (next != null) {
                next.onSession(this);
            }
        }

        @Override
        public void onSettings(Session s, SettingsFrame frame) {
            if (frame.isReply()) {
                return;
            }
            Integer max = frame.getSettings().get(SettingsFrame.MAX_CONCURRENT_STREAMS);
            synchronized (StreamPool.this) {
                if (max != null) {
                    serverMax = max;
                }
                settled = true;
            }
            ready(this);
        }

        @Override
        public void onGoAway(Session s, GoAwayFrame frame) {
            gone(this);
        }

        @Override
        public void onClose(Session s, GoAwayFrame frame, Callback callback) {
            gone(this);
            callback.succeeded();
        }

        @Override
        public void onFailure(Session s, Throwable failure, Callback callback) {
            gone(this);
            callback.succeeded();
        }

        @Override
        public boolean onIdleTimeout(Session s) {
            return s.getStreams().isEmpty(); // idle with streams open (a quiet gRPC stream) is not idle
        }
    }

    private final Connector client;
    private final StreamClient.Key key;
    private final StreamClient.Limit maxStreams;
    private final IntSupplier maxConnections;
    private final IntSupplier maxQueued;
    private final List<Conn> conns = new ArrayList<>();          // guarded by this
    private final ArrayDeque<Waiter> queued = new ArrayDeque<>(); // guarded by this: every connection full, at the limit

    StreamPool(Connector client, StreamClient.Key key, StreamClient.Limit maxStreams, IntSupplier maxConnections, IntSupplier maxQueued) {
        this.client = client;
        this.key = key;
        this.maxStreams = maxStreams;
        this.maxConnections = maxConnections;
        this.maxQueued = maxQueued;
    }

    /** What this pool is for. */
    StreamClient.Key key() {
        return key;
    }

    StreamClient.Limit limit() {
        return maxStreams;
    }

    /** Gives {@code w} a place on a connection: an open one with room, one opening, a new one, or the next place freed. */
    void acquire(Waiter w) {
        Conn give = null;
        Conn open = null;
        boolean wait = false;
        synchronized (this) {
            int max = maxStreams.getAsInt();
            for (Conn c : conns) {
                if (!c.closed && c.streams < Math.min(max, c.serverMax)) {
                    c.streams++;
                    if (c.session == null) {
                        c.waiters.add(w); // opening: it will take this one too
                        return;
                    }
                    give = c;
                    break;
                }
            }
            if (give == null) {
                int maxConns = maxConnections.getAsInt();
                if (maxConns > 0 && conns.size() >= maxConns) {
                    if (queued.size() < maxQueued.getAsInt()) {
                        queued.add(w);
                        wait = true;
                    }
                } else {
                    open = new Conn();
                    open.streams = 1;
                    open.waiters.add(w);
                    conns.add(open);
                }
            }
        }
        if (wait) {
            w.queued(() -> leave(w));
        } else if (give != null) {
            w.onSession(give);
        } else if (open != null) {
            connect(open);
        } else {
            w.onNoSession(new RejectedExecutionException("too many requests queued for this server"));
        }
    }

    /** {@code w} stops waiting for a place; false when it is not waiting (it got one, or left already). */
    synchronized boolean leave(Waiter w) {
        return queued.remove(w);
    }

    private void connect(Conn c) {
        client.connect(key, c, Promise.from(s -> {
            synchronized (this) {
                c.created = s;
            }
            ready(c);
        }, failure -> {
            List<Waiter> failed;
            synchronized (this) {
                conns.remove(c);
                c.closed = true;
                failed = List.copyOf(c.waiters);
                c.waiters.clear();
            }
            failed.forEach(w -> w.onNoSession(failure));
        }));
    }

    /**
     * Hands {@code c} to the requests waiting for it once it is both connected and settled (the
     * server's first SETTINGS say how many streams it takes): as many as fit, the others go
     * round again. Waiting for SETTINGS costs nothing (they are the server's first frame) and
     * keeps a server that takes fewer streams than {@code max_concurrent_streams} from refusing
     * the first ones of each new connection.
     */
    private void ready(Conn c) {
        List<Waiter> go;
        List<Waiter> again = List.of();
        synchronized (this) {
            if (c.session != null || c.created == null || !c.settled || c.closed) {
                return;
            }
            c.session = c.created;
            int room = Math.max(1, Math.min(maxStreams.getAsInt(), c.serverMax));
            if (c.waiters.size() > room) {
                again = List.copyOf(c.waiters.subList(room, c.waiters.size()));
                c.streams -= again.size();
                c.waiters.subList(room, c.waiters.size()).clear();
            }
            go = List.copyOf(c.waiters);
            c.waiters.clear();
        }
        go.forEach(w -> w.onSession(c));
        again.forEach(this::acquire);
    }

    /**
     * {@code c} takes no new streams: the server closed it or is closing it. Requests queued at
     * the connection limit get a new connection in its place.
     */
    private void gone(Conn c) {
        Conn open = null;
        List<Waiter> orphans;
        synchronized (this) {
            c.closed = true;
            orphans = List.copyOf(c.waiters); // it closed before it was ready: they never got it
            c.waiters.clear();
            if (conns.remove(c) && !queued.isEmpty()) {
                open = new Conn();
                int max = maxStreams.getAsInt();
                while (open.streams < max && !queued.isEmpty()) {
                    open.waiters.add(queued.poll());
                    open.streams++;
                }
                conns.add(open);
            }
        }
        orphans.forEach(w -> w.onNoSession(new OriginStream.NotSent("the server closed the connection before its SETTINGS", null)));
        if (open != null) {
            connect(open);
        }
    }

    /** Open connections, streams on them, and queued requests (tests). */
    synchronized int[] counts() {
        return new int[] {conns.size(), conns.stream().mapToInt(c -> c.streams).sum(), queued.size()};
    }

    /** Closes every connection (the engine stops). */
    void close() {
        List<Session> all = new ArrayList<>();
        synchronized (this) {
            conns.forEach(c -> {
                if (c.session != null) {
                    all.add(c.session);
                }
            });
        }
        all.forEach(s -> s.close(0, "stopping", Callback.NOOP));
    }
}
