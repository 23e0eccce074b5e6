package io.upstreamproxy.testing;

import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketMessage;
import org.eclipse.jetty.websocket.api.annotations.WebSocket;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * A real WebSocket server on 127.0.0.1, port 0: {@code /ws} and below echo each text message as
 * {@code <name>:<message>}; {@code /refuse} answers the upgrade with 403.
 */
public final class WsBackend implements AutoCloseable {
    public final String name;
    public final AtomicInteger upgrades = new AtomicInteger();
    /** The status of every close frame a client sent, in order. */
    public final java.util.concurrent.BlockingQueue<Integer> closeCodes = new java.util.concurrent.LinkedBlockingQueue<>();
    private final Server server;
    private final ServerConnector connector;

    private WsBackend(String name, org.eclipse.jetty.util.ssl.SslContextFactory.Server tls) throws Exception {
        this.name = name;
        server = new Server();
        if (tls == null) {
            connector = new ServerConnector(server);
        } else {
            // No SNI-versus-Host check: the proxy sends SNI server_name and Host host:port, as nginx does.
            org.eclipse.jetty.server.HttpConfiguration http = new org.eclipse.jetty.server.HttpConfiguration();
            http.addCustomizer(new org.eclipse.jetty.server.SecureRequestCustomizer(false));
            connector = new ServerConnector(server, new org.eclipse.jetty.server.SslConnectionFactory(tls, "http/1.1"),
                    new org.eclipse.jetty.server.HttpConnectionFactory(http));
        }
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(WebSocketUpgradeHandler.from(server, container -> {
            container.addMapping("/ws/*", (rq, rs, cb) -> {
                upgrades.incrementAndGet();
                return new Echo();
            });
            container.addMapping("/refuse", (rq, rs, cb) -> {
                Response.writeError(rq, rs, cb, 403, "no WebSocket here");
                return null;
            });
        }));
        server.start();
    }

    public static WsBackend start(String name) throws Exception {
        return new WsBackend(name, null);
    }

    /** The same over TLS, with {@code cert} from {@code ca}. */
    public static WsBackend startTls(String name, TestCerts ca, TestCerts.Issued cert) throws Exception {
        org.eclipse.jetty.util.ssl.SslContextFactory.Server tls = new org.eclipse.jetty.util.ssl.SslContextFactory.Server();
        tls.setKeyStore(ca.keyStore(cert, "secret".toCharArray()));
        tls.setKeyStorePassword("secret");
        tls.setSniRequired(false);
        return new WsBackend(name, tls);
    }

    public String address() {
        return "127.0.0.1:" + connector.getLocalPort();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }

    /** Echoes text with the backend's name in front. */
    @WebSocket
    public final class Echo {
        @OnWebSocketMessage
        public void onText(Session session, String message) {
            session.sendText(name + ":" + message, Callback.NOOP);
        }

        @org.eclipse.jetty.websocket.api.annotations.OnWebSocketClose
        public void onClose(int statusCode, String reason) {
            closeCodes.add(statusCode);
        }
    }
}
