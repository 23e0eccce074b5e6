package io.upstreamproxy.listen;

import io.upstreamproxy.config.ProxyConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.IdleTimeout;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A listener whose selectors are event loops for whole exchanges, as nginx's workers are: one
 * per core, and the upstream connections of a client's requests live on the client's loop.
 *
 * <p>Jetty gives a listener one selector per two cores and an HTTP client selectors of its own,
 * so each proxied request crossed two threads: the listener's selector read the request and the
 * client's read the answer, each waking the other. Here the listener's selector manager also
 * serves the connects of {@link UpstreamConnector}, on the loop the request asks for
 * ({@link EventLoop}); the pool takes an idle connection of that loop first. Then a request, its
 * upstream exchange and the response to the client stay on one thread, with no hand-off.
 * Measured (docs/benchmark.md, sixth step): 0.68 of nginx's requests per second at 1.8x its CPU
 * per request before, 0.88 at 1.5x after; with one shared loop and no affinity the CPU fell as
 * far but throughput stopped at one core, and with two loops and no affinity nothing changed.
 */
public final class ProxyServerConnector extends ServerConnector {
    /** How long before the stop's deadline the idle connections left are closed: the close itself takes a moment. */
    private static final long IDLE_CLOSE_MARGIN_MS = 250;
    private volatile long idleAtStopMillis = ProxyConfig.Shutdown.DEFAULT.idleTimeout().toMillis();

    ProxyServerConnector(Server server, ConnectionFactory... factories) {
        super(server, -1, Math.max(1, Runtime.getRuntime().availableProcessors()), factories);
    }

    /** The event loop that {@code endPoint} (a client's, plain, under TLS or after a PROXY header) lives on, or null when it is not one of ours. */
    public static EventLoop loopOf(EndPoint endPoint) {
        EndPoint network = endPoint;
        for (int i = 0; i < 3 && !(network instanceof ClientEndPoint); i++) { // TLS over PROXY: two wrappers at most
            if (network instanceof SslConnection.SslEndPoint ssl) {
                network = ssl.getSslConnection().getEndPoint();
            } else if (network instanceof EndPoint.Wrapper w) {
                network = w.unwrap();
            } else {
                break;
            }
        }
        return network instanceof ClientEndPoint c ? c.loop : null;
    }

    /** {@code shutdown.idle_timeout}: how long, once a stop has closed the listener, a connection may stay idle. */
    public void idleTimeoutAtStop(long millis) {
        idleAtStopMillis = millis;
    }

    /**
     * A stop closes the listener and waits for the connections to end. Jetty shortens their idle
     * timeout to a second, counted from their last activity: a keep-alive connection idle for a
     * second then closes at once, and the client's next request, crossing that close, gets a
     * read error (no answer, the connection closed) instead of an answer. Measured in ten
     * reuse_port hand-overs under load: 1-2 wrk read errors, ten EOFs without a byte of answer
     * in one hand-over on a loaded machine, every one within the second after the listener
     * closed. Here every connection is given {@code shutdown.idle_timeout} counted from the
     * listener's close ({@link #idleTimeoutAtStop}): its next request within that time is
     * answered with {@code Connection: close} ({@link DrainingHandler}), and one that stays idle
     * closes then. Idle connections cannot hold a restart for long (with an inherited socket,
     * systemd starts the new process only when this one has exited), and a busy client's
     * connection is not idle that long.
     * Whatever is still open just before the stop's deadline is idle (requests in flight are the
     * graceful handler's to wait for), so the listener's part of the stop ends there, and the
     * stop closes them and succeeds.
     */
    @Override
    public CompletableFuture<Void> shutdown() {
        for (EndPoint e : getConnectedEndPoints()) {
            if (e instanceof IdleTimeout t) {
                t.notIdle(); // the grace counts from now, not from each connection's last request
            }
        }
        setShutdownIdleTimeout(Math.min(getIdleTimeout(), idleAtStopMillis));
        CompletableFuture<Void> drained = super.shutdown().copy(); // completed early below, Jetty's own left alone
        long stopTimeout = getServer().getStopTimeout();
        return stopTimeout <= 0 ? drained : drained.completeOnTimeout(null, Math.max(1, stopTimeout - IDLE_CLOSE_MARGIN_MS), TimeUnit.MILLISECONDS);
    }

    @Override
    protected SelectorManager newSelectorManager(Executor executor, Scheduler scheduler, int selectors) {
        return new Loops(executor, scheduler, selectors);
    }

    @Override
    protected SocketChannelEndPoint newEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key) {
        ClientEndPoint endPoint = new ClientEndPoint(channel, selector, key, getScheduler(), new EventLoop((Loops) getSelectorManager(), selector));
        endPoint.setIdleTimeout(getIdleTimeout());
        return endPoint;
    }

    /**
     * The listener's selectors, which also open, and hand to {@link UpstreamConnector}, the
     * connections it asks for on one of them. A connection is the upstream's when its selection
     * key carries that connector's context; anything else is a client's, as in Jetty.
     */
    final class Loops extends ServerConnectorManager {
        private final ThreadLocal<ManagedSelector> chosen = new ThreadLocal<>();

        Loops(Executor executor, Scheduler scheduler, int selectors) {
            super(executor, scheduler, selectors);
        }

        /** Connects {@code channel} on {@code selector}, for the upstream connector whose context is {@code attachment}. */
        void connect(ManagedSelector selector, SelectableChannel channel, Object attachment, boolean connected, long connectTimeoutMillis) {
            setConnectTimeout(connectTimeoutMillis); // read by the connect below; clients' connections do not use it
            chosen.set(selector);
            try {
                if (connected) {
                    accept(channel, attachment);
                } else {
                    connect(channel, attachment);
                }
            } finally {
                chosen.remove();
            }
        }

        @Override
        protected ManagedSelector chooseSelector() {
            ManagedSelector s = chosen.get();
            return s != null ? s : super.chooseSelector();
        }

        @Override
        protected SocketChannelEndPoint newEndPoint(SelectableChannel channel, ManagedSelector selector, SelectionKey key) throws IOException {
            Map<String, Object> upstream = UpstreamConnector.contextOf(key.attachment());
            return upstream != null ? UpstreamConnector.of(upstream).endPoint(channel, selector, key) : super.newEndPoint(channel, selector, key);
        }

        @Override
        public Connection newConnection(SelectableChannel channel, EndPoint endPoint, Object attachment) throws IOException {
            Map<String, Object> upstream = UpstreamConnector.contextOf(attachment);
            return upstream != null ? UpstreamConnector.of(upstream).connection(endPoint, upstream) : super.newConnection(channel, endPoint, attachment);
        }

        @Override
        public void connectionOpened(Connection connection, Object context) {
            Map<String, Object> upstream = UpstreamConnector.contextOf(context);
            try {
                super.connectionOpened(connection, context);
            } catch (Throwable x) {
                if (upstream == null) {
                    throw x; // a client's: as in Jetty
                }
                UpstreamConnector.of(upstream).openFailed(x, upstream);
                return;
            }
            if (upstream != null) {
                UpstreamConnector.of(upstream).opened(connection, upstream);
            }
        }

        @Override
        protected void connectionFailed(SelectableChannel channel, Throwable failure, Object attachment) {
            super.connectionFailed(channel, failure, attachment);
            Map<String, Object> upstream = UpstreamConnector.contextOf(attachment);
            if (upstream != null) {
                UpstreamConnector.of(upstream).connectFailed(channel, failure, upstream);
            }
        }

        @Override
        protected void onAcceptFailed(SelectableChannel channel, Throwable failure, Object attachment) {
            super.onAcceptFailed(channel, failure, attachment);
            Map<String, Object> upstream = UpstreamConnector.contextOf(attachment);
            if (upstream != null) {
                UpstreamConnector.of(upstream).openFailed(failure, upstream);
            }
        }

        // The listener counts and closes its clients' connections (graceful stop, statistics):
        // the upstream ones are not among them.

        @Override
        protected void endPointOpened(EndPoint endPoint) {
            if (endPoint instanceof ClientEndPoint) {
                super.endPointOpened(endPoint);
            }
        }

        @Override
        protected void endPointClosed(EndPoint endPoint) {
            if (endPoint instanceof ClientEndPoint) {
                super.endPointClosed(endPoint);
            }
        }
    }

    /**
     * A client's socket: it knows its event loop, and its connection can tell it "the next reads
     * would find nothing" ({@link ProxyHttpConnectionFactory}): they then answer 0 without a
     * system call until the connection registers interest in reading, and the selector says when
     * there is something. Nothing is missed: the selector is level-triggered, so bytes that
     * arrived in between make it report the socket at once.
     *
     * <p>It also stays registered for reads while its request is proxied. Jetty takes a socket's
     * read interest away when the selector reports it readable and gives it back when the
     * connection next asks to read; between a request and its response nobody asks, so the JDK's
     * selector removed the socket from epoll and added it again for every request: two
     * {@code epoll_ctl} calls per request, where nginx, registered once, makes none. Here the
     * interest is kept after a read that someone asked for. If the socket becomes readable while
     * nobody wants to read (a pipelined request, a body the server is not ready for, the client
     * closing), the registration goes, as in Jetty, until the connection asks again: level-triggered,
     * the bytes are then reported at once, and the loop never spins on bytes nobody reads.
     */
    public static final class ClientEndPoint extends SocketChannelEndPoint {
        private final EventLoop loop;
        private volatile SelectionKey key;
        // onSelected kept the interest in reading, and the selector has reported no readiness
        // since: the connection's next request to read needs no update of the key.
        private volatile boolean readKept;
        // Runs when the client closes while nobody reads (a queued request's), until the connection reads again.
        private volatile Runnable closedUnread;
        // Written and read by whichever thread runs the connection at the time: Jetty hands a
        // connection from thread to thread through its selector and executor, which order
        // those runs (as for the connection's own fields).
        private boolean assumedEmpty;

        ClientEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key, Scheduler scheduler, EventLoop loop) {
            super(channel, selector, key, scheduler);
            this.loop = loop;
            this.key = key;
        }

        @Override
        public void replaceKey(SelectionKey newKey) {
            readKept = false;
            key = newKey;
            super.replaceKey(newKey);
        }

        /**
         * On the selector's thread, when the socket is ready. After a read someone asked for, the
         * interest in reading stays (Jetty would drop it); while nobody asks, a readable socket
         * gets no task and loses the interest until the connection asks again.
         */
        @Override
        public Runnable onSelected() {
            int ready = key.readyOps();
            if ((ready & SelectionKey.OP_READ) == 0 || getConnection() instanceof SslConnection) {
                // Under TLS the records are read on a pool thread (docs/tls.md): a kept interest
                // woke the selector for bytes that thread was about to read, and doubled the CPU
                // per request (bench/run.sh --https --b-jar, 8 December: 88 against 46 us).
                return super.onSelected();
            }
            readKept = false; // first: a connection that asks to read from now on updates the key
            Runnable task = super.onSelected(); // takes the ready operations out of the interest
            if (isFillInterested()) {
                // The key's update is pending until the selector's next pass: re-adding the
                // interest here leaves epoll's registration as it was.
                super.needsFillInterest();
                readKept = true;
                return task;
            }
            // Bytes or an end nobody asked for: a connection that registers meanwhile re-adds the
            // interest (the update is still pending) and the selector reports the socket again.
            Runnable departed = closedUnread;
            if (departed != null && nothingToRead()) {
                closedUnread = null;
                return (ready & SelectionKey.OP_WRITE) != 0 ? () -> { task.run(); departed.run(); } : departed;
            }
            return (ready & SelectionKey.OP_WRITE) != 0 ? task : null;
        }

        /**
         * Runs {@code task} (once) if the client closes its connection, or resets it, while
         * nobody reads it: a request waiting in a queue, whose client Jetty would not hear leave
         * until it read again. A socket reported readable with no bytes to read has ended; bytes
         * (a pipelined request) are left where they are, for the connection. The watch ends when
         * the connection asks to read again (Jetty's own read then sees the end).
         */
        public void whenClosedUnread(Runnable task) {
            closedUnread = task;
        }

        /** Readable with nothing to read: the peer's end of input, or a reset (FIONREAD, which consumes nothing). */
        private boolean nothingToRead() {
            try {
                return getChannel().socket().getInputStream().available() == 0;
            } catch (IOException e) {
                return true; // closed or shut down: nothing more will come
            }
        }

        /** Whether the selector watches this socket for reads now (tests, dumps). */
        public boolean readInterested() {
            SelectionKey k = key;
            return k.isValid() && (k.interestOps() & SelectionKey.OP_READ) != 0;
        }

        /** Until the next registration for reads, reads answer 0 without asking the kernel. */
        void assumeEmpty() {
            assumedEmpty = true;
        }

        @Override
        public int fill(ByteBuffer buffer) throws IOException {
            if (assumedEmpty && isOpen()) {
                return 0;
            }
            return super.fill(buffer);
        }

        /**
         * The connection asks to read. When the interest is kept ({@link #onSelected}), the key
         * is left as it is: Jetty's update (a lock, a task for the selector, a second lock
         * there) cost 2.5% of the jar's CPU under load, for a key that needed no change.
         */
        @Override
        protected void needsFillInterest() {
            assumedEmpty = false;
            closedUnread = null;
            if (!readKept) {
                super.needsFillInterest();
            }
        }
    }
}
