package io.upstreamproxy.listen;

import java.nio.channels.SelectableChannel;
import org.eclipse.jetty.io.ManagedSelector;

/**
 * One selector of a listener ({@link ProxyServerConnector}): the thread that reads a client's
 * requests, and on which the upstream connections for them are opened and preferred.
 */
public record EventLoop(ProxyServerConnector.Loops loops, ManagedSelector selector) {
    /** Registers a new upstream {@code channel} here (connected already, or still connecting). */
    void register(SelectableChannel channel, Object context, boolean connected, long connectTimeoutMillis) {
        loops.connect(selector, channel, context, connected, connectTimeoutMillis);
    }
}
