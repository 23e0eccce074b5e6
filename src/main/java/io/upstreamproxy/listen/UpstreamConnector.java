package io.upstreamproxy.listen;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.util.Map;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.util.Promise;

/**
 * Jetty's {@link ClientConnector}, whose connections open on the {@link EventLoop} their
 * context names ({@link #LOOP_CONTEXT_KEY}): a listener's selector, the one of the client they
 * are for. Without a loop in the context, a connection opens on this connector's own selector,
 * as in Jetty. Everything else (socket options, the connect timeout, TLS, the promise) is
 * Jetty's.
 */
public final class UpstreamConnector extends ClientConnector {
    /** Context key: the {@link EventLoop} to open the connection on. */
    public static final String LOOP_CONTEXT_KEY = EventLoop.class.getName();

    @Override
    protected SelectorManager newSelectorManager() {
        return new ClientSelectorManager(getExecutor(), getScheduler(), getSelectors()) {
            @Override
            public void connect(SelectableChannel channel, Object attachment) {
                if (!registeredOnLoop(channel, attachment, false)) {
                    super.connect(channel, attachment);
                }
            }

            @Override
            public void accept(SelectableChannel channel, Object attachment) {
                if (!registeredOnLoop(channel, attachment, true)) {
                    super.accept(channel, attachment);
                }
            }

            /** Hands {@code channel} to the event loop its context names; false when it names none. */
            private boolean registeredOnLoop(SelectableChannel channel, Object attachment, boolean connected) {
                EventLoop loop = loopOf(attachment);
                if (loop == null) {
                    return false;
                }
                loop.register(channel, attachment, connected, getConnectTimeout()); // this manager's: ClientConnector keeps it set
                return true;
            }
        };
    }

    private static EventLoop loopOf(Object attachment) {
        Map<String, Object> context = contextOf(attachment);
        return context != null && context.get(LOOP_CONTEXT_KEY) instanceof EventLoop loop ? loop : null;
    }

    /** The context of a connection an {@code UpstreamConnector} opens, or null for anything else (a client's). */
    @SuppressWarnings("unchecked")
    static Map<String, Object> contextOf(Object attachment) {
        return attachment instanceof Map<?, ?> m && m.get(CONTEXT_KEY) instanceof UpstreamConnector ? (Map<String, Object>) m : null;
    }

    static UpstreamConnector of(Map<String, Object> context) {
        return (UpstreamConnector) context.get(CONTEXT_KEY);
    }

    // What Jetty's ClientSelectorManager does for its own selector, for a listener's.

    SocketChannelEndPoint endPoint(SelectableChannel channel, ManagedSelector selector, SelectionKey key) {
        EndPoint endPoint = newEndPoint(channel, selector, key);
        endPoint.setIdleTimeout(getIdleTimeout().toMillis());
        return (SocketChannelEndPoint) endPoint;
    }

    Connection connection(EndPoint endPoint, Map<String, Object> context) throws IOException {
        return newConnection(endPoint, context);
    }

    void opened(Connection connection, Map<String, Object> context) {
        promise(context).succeeded(connection);
    }

    void openFailed(Throwable failure, Map<String, Object> context) {
        promise(context).failed(failure);
    }

    void connectFailed(SelectableChannel channel, Throwable failure, Map<String, Object> context) {
        connectFailed(channel, (SocketAddress) context.get(REMOTE_SOCKET_ADDRESS_CONTEXT_KEY), failure, context);
    }

    @SuppressWarnings("unchecked")
    private static Promise<Connection> promise(Map<String, Object> context) {
        return (Promise<Connection>) context.get(CONNECTION_PROMISE_CONTEXT_KEY);
    }
}
