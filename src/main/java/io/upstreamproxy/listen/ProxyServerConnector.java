package io.upstreamproxy.listen;

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

    /**
     * A stop closes the listener and waits for the connections to end, without shortening their
     * idle timeout as Jetty does (to a second): a keep-alive connection idle at that moment may
     * carry the client's next request at any time, and closing it then gives that request a
     * read error (no answer, the connection closed) instead of an answer. Measured in ten
     * reuse_port hand-overs under load: 1-2 wrk read errors, ten EOFs without a byte of answer
     * in one hand-over on a loaded machine, every one within the second after the listener
     * closed. Left open, the connection's next request is answered with {@code Connection: close}
     * ({@link DrainingHandler}); one still idle ends at its own idle timeout or at
     * {@code shutdown.timeout}, whichever comes first. Connections still open then are idle ones
     * (requests in flight are the graceful handler's to wait for), so the listener's part of the
     * stop ends there, just before the stop's deadline, and the stop closes them and succeeds
     * rather than failing for want of a request nobody sent.
     */
    @Override
    public CompletableFuture<Void> shutdown() {
        setShutdownIdleTimeout(getIdleTimeout());
        CompletableFuture<Void> drained = new CompletableFuture<>();
        super.shutdown().whenComplete((v, x) -> {
            if (x == null) {
                drained.complete(null);
            } else {
                drained.completeExceptionally(x);
            }
        });
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
     */
    public static final class ClientEndPoint extends SocketChannelEndPoint {
        private final EventLoop loop;
        // Written and read by whichever thread runs the connection at the time: Jetty hands a
        // connection from thread to thread through its selector and executor, which order
        // those runs (as for the connection's own fields).
        private boolean assumedEmpty;

        ClientEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key, Scheduler scheduler, EventLoop loop) {
            super(channel, selector, key, scheduler);
            this.loop = loop;
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

        @Override
        protected void needsFillInterest() {
            assumedEmpty = false;
            super.needsFillInterest();
        }
    }
}
