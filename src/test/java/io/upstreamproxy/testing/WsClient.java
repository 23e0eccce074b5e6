package io.upstreamproxy.testing;

import java.net.URI;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketClose;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketMessage;
import org.eclipse.jetty.websocket.api.annotations.WebSocket;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/** Jetty's WebSocket client: one connection, messages received in a queue, close observed. */
public final class WsClient implements AutoCloseable {
    private final WebSocketClient client;
    private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
    public final CountDownLatch closed = new CountDownLatch(1);
    public volatile int closeCode;
    private Session session;

    private WsClient(WebSocketClient client) {
        this.client = client;
    }

    public static WsClient connect(String url) throws Exception {
        return connect(url, new WebSocketClient());
    }

    /** Over {@code wss://}, trusting what {@code tls} trusts. */
    public static WsClient connect(String url, org.eclipse.jetty.util.ssl.SslContextFactory.Client tls) throws Exception {
        org.eclipse.jetty.client.HttpClient http = new org.eclipse.jetty.client.HttpClient();
        http.setSslContextFactory(tls);
        return connect(url, new WebSocketClient(http));
    }

    /** With {@code Cookie: cookie} on the upgrade request (sticky sessions). */
    public static WsClient connectWithCookie(String url, String cookie) throws Exception {
        org.eclipse.jetty.websocket.client.ClientUpgradeRequest upgrade = new org.eclipse.jetty.websocket.client.ClientUpgradeRequest();
        upgrade.setHeader("Cookie", cookie);
        return connect(url, new WebSocketClient(), upgrade);
    }

    private static WsClient connect(String url, WebSocketClient client) throws Exception {
        return connect(url, client, new org.eclipse.jetty.websocket.client.ClientUpgradeRequest());
    }

    private static WsClient connect(String url, WebSocketClient client, org.eclipse.jetty.websocket.client.ClientUpgradeRequest upgrade)
            throws Exception {
        WsClient c = new WsClient(client);
        c.client.start();
        try {
            c.session = c.client.connect(c.new Listener(), URI.create(url), upgrade).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            c.client.stop();
            throw e;
        }
        return c;
    }

    /** Sends a text message and returns the next one received (10 s at most). */
    public String ask(String text) throws Exception {
        session.sendText(text, Callback.NOOP);
        String answer = received.poll(10, TimeUnit.SECONDS);
        if (answer == null) {
            throw new AssertionError("no answer to \"" + (text.length() > 40 ? text.substring(0, 40) + "..." : text) + "\" in 10 s");
        }
        return answer;
    }

    public boolean isOpen() {
        return session.isOpen();
    }

    @Override
    public void close() throws Exception {
        if (session.isOpen()) {
            session.close();
            closed.await(10, TimeUnit.SECONDS);
        }
        client.stop();
    }

    @WebSocket
    public final class Listener {
        @OnWebSocketMessage
        public void onText(String message) {
            received.add(message);
        }

        @OnWebSocketClose
        public void onClose(int code, String reason) {
            closeCode = code;
            closed.countDown();
        }
    }
}
