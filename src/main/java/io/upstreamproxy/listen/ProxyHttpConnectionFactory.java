package io.upstreamproxy.listen;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.internal.HttpConnection;

/**
 * Jetty's HTTP/1.1 connection factory, with connections that, after a response, go straight
 * back to waiting for the client's next request.
 *
 * <p>A proxy's response completes after the thread that read its request has moved on. Jetty's
 * connection then runs again to look for the next request ({@link ServerThreadPool} runs it on
 * the completing thread), and reads the client's socket twice (the second for TLS, where a read
 * may consume a record that carries no data) before it registers for reads. With nothing
 * buffered and no request begun, both reads find nothing unless the client answered within
 * microseconds. Here the socket answers them with 0 without a system call
 * ({@link ProxyServerConnector.ClientEndPoint}), and Jetty's own code goes on as after any
 * empty read: it releases the request buffer and registers for reads. A request that did arrive
 * meanwhile is seen by the selector at once. Measured with the event loops of
 * {@link ProxyServerConnector}: two reads per proxied request, as nginx
 * ({@code docs/benchmark.md}, sixth step).
 *
 * <p>Only plain sockets: over TLS the connection's endpoint is the decrypting one, and Jetty
 * proceeds as it would anyway. Pipelined bytes already read, a request body not yet consumed,
 * or a connection that is closing, also take Jetty's usual path.
 */
final class ProxyHttpConnectionFactory extends HttpConnectionFactory {
    ProxyHttpConnectionFactory(HttpConfiguration configuration) {
        super(configuration);
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        HttpConnection connection = new ClientHttpConnection(getHttpConfiguration(), connector, endPoint);
        connection.setTransferEncodingChunkMaxLength(getTransferEncodingChunkMaxLength());
        return configure(connection, connector, endPoint);
    }

    static final class ClientHttpConnection extends HttpConnection {
        ClientHttpConnection(HttpConfiguration configuration, Connector connector, EndPoint endPoint) {
            super(configuration, connector, endPoint);
        }

        @Override
        public void run() {
            if (getEndPoint() instanceof ProxyServerConnector.ClientEndPoint client && isRequestBufferEmpty() && getParser().isStart()) {
                client.assumeEmpty();
            }
            super.run();
        }
    }
}
