package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.testing.WsBackend;
import io.upstreamproxy.testing.WsClient;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** WebSocket through the jar: relay, counting, drain, refusal, retry, idle timeout. */
class WebSocketProxyTest {

    private static String config(String servers, String proxy) {
        return "{ \"upstreams\": { \"ws\": { \"servers\": [ " + servers + " ] } }" + proxy + " }";
    }

    private static Server server(RunningProxy p, String address) {
        return p.registry().get("ws").servers().stream().filter(s -> s.key().equals(address)).findFirst().orElseThrow();
    }

    @Test
    void relaysBothWaysAndCountsTheOpenSocketAsActive() throws Exception {
        try (WsBackend b1 = WsBackend.start("b1");
             RunningProxy proxy = RunningProxy.start(config("{\"server\": \"" + b1.address() + "\"}", ""))) {
            Server s = server(proxy, b1.address());
            try (WsClient ws = WsClient.connect("ws://127.0.0.1:" + proxy.port() + "/ws")) {
                assertEquals("b1:hello", ws.ask("hello"));
                String big = "x".repeat(50_000); // several relay buffers, under Jetty's 64 KiB message limit
                assertTrue(("b1:" + big).equals(ws.ask(big)), "a 50 kB message came back changed");
                assertEquals(1, s.stats().active());
                assertEquals(1, s.stats().requests());
            }
            Http.await("active back to 0", Duration.ofSeconds(10), () -> s.stats().active() == 0);
            assertEquals(1, s.stats().requests());
            assertEquals(1, s.stats().responses(1));
        }
    }

    /** An open WebSocket holds its place in the upstream's max_requests until it closes, as any request holds its own. */
    @Test
    void anOpenWebSocketCountsInMaxRequestsUntilItCloses() throws Exception {
        try (WsBackend b1 = WsBackend.start("b1");
             RunningProxy proxy = RunningProxy.start("{ \"upstreams\": { \"ws\": { \"max_requests\": 1, \"servers\": [ {\"server\": \""
                     + b1.address() + "\"} ] } } }")) {
            Upstream ws = proxy.registry().get("ws");
            try (WsClient open = WsClient.connect("ws://127.0.0.1:" + proxy.port() + "/ws")) {
                assertEquals("b1:hello", open.ask("hello"));
                assertEquals(1, ws.admission().inFlight());
                HttpResponse<String> r = proxy.get("/plain");
                assertEquals(503, r.statusCode(), r.body());
                assertTrue(r.body().contains("UpstreamOverloaded"), r.body());
                try (Socket second = new Socket("127.0.0.1", proxy.port())) {
                    assertTrue(upgradeStatus(second).startsWith("HTTP/1.1 503"), "a second upgrade is refused too");
                }
                assertEquals(2, ws.stats().overloadedCount());
                assertEquals(1, b1.upgrades.get());
            }
            Http.await("the closed WebSocket gave its place back", Duration.ofSeconds(10), () -> ws.admission().inFlight() == 0);
            try (WsClient again = WsClient.connect("ws://127.0.0.1:" + proxy.port() + "/ws")) {
                assertEquals("b1:again", again.ask("again"));
            }
        }
    }

    /**
     * The relay holds no thread: 60 open WebSockets add no thread to the process (the relay
     * used to start one per socket), and each still answers afterwards.
     */
    @Test
    void openWebSocketsHoldNoThreadOfTheirOwn() throws Exception {
        try (WsBackend b1 = WsBackend.start("b1");
             RunningProxy proxy = RunningProxy.start(config("{\"server\": \"" + b1.address() + "\"}", ""))) {
            Server s = server(proxy, b1.address());
            java.util.List<Socket> sockets = new java.util.ArrayList<>();
            try {
                sockets.add(upgrade(proxy.port())); // warms up the connectors' threads
                int before = Thread.activeCount();
                for (int i = 1; i < 60; i++) {
                    sockets.add(upgrade(proxy.port()));
                }
                assertEquals(60, s.stats().active(), "every open WebSocket counts as active");
                int added = Thread.activeCount() - before;
                assertTrue(added < 10, "60 open WebSockets added " + added + " threads");
                for (Socket socket : sockets) {
                    assertEquals("b1:ping", echo(socket, "ping"));
                }
            } finally {
                for (Socket socket : sockets) {
                    socket.close();
                }
            }
            Http.await("active back to 0", Duration.ofSeconds(10), () -> s.stats().active() == 0);
        }
    }

    /**
     * A client that sends and never reads is held back by the chain, not buffered by the proxy:
     * the echoes fill the client's socket, the proxy stops reading the server, the server stops
     * reading its side, and the client's writes stop. What the client got to write is bounded by
     * the sockets' buffers along the way, never by the proxy's memory.
     */
    @Test
    void aClientThatNeverReadsIsHeldBackNotBuffered() throws Exception {
        // A server that echoes bytes with blocking writes, so that it stops reading when its echoes
        // are not taken (Jetty's WebSocket server would queue them in memory without a bound).
        try (java.net.ServerSocket echo = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread server = new Thread(() -> {
                try (Socket c = echo.accept()) {
                    InputStream in = c.getInputStream();
                    StringBuilder head = new StringBuilder();
                    while (!head.toString().endsWith("\r\n\r\n")) {
                        head.append((char) in.read());
                    }
                    OutputStream out = c.getOutputStream();
                    out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    in.transferTo(out);
                } catch (Exception e) {
                    // the test closed it
                }
            }, "blocking-echo");
            server.setDaemon(true);
            server.start();
            neverReadingClient("127.0.0.1:" + echo.getLocalPort());
        }
    }

    private void neverReadingClient(String address) throws Exception {
        try (RunningProxy proxy = RunningProxy.start(config("{\"server\": \"" + address + "\"}", ""))) {
            Server s = server(proxy, address);
            try (Socket socket = upgrade(proxy.port())) {
                byte[] payload = new byte[16 * 1024];
                java.util.Arrays.fill(payload, (byte) 'x');
                byte[] frame = new byte[8 + payload.length];
                frame[0] = (byte) 0x81;
                frame[1] = (byte) (0x80 | 126);
                frame[2] = (byte) (payload.length >> 8);
                frame[3] = (byte) payload.length;
                System.arraycopy(payload, 0, frame, 8, payload.length); // mask 0,0,0,0: the payload as it is
                long written = 0;
                long limit = 512L << 20;
                RepeatingWriter writer = new RepeatingWriter(socket.getOutputStream(), frame, limit);
                Thread t = new Thread(writer, "never-reading-client");
                t.setDaemon(true);
                t.start();
                long last = -1;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (System.nanoTime() < deadline) {
                    written = writer.written.get();
                    if (written == last && written > 0) {
                        break; // no progress for a second: held back
                    }
                    last = written;
                    t.join(1_000); // wait a second for progress, or for the writer to finish
                    if (!t.isAlive()) {
                        break;
                    }
                }
                assertTrue(t.isAlive(), "the client wrote " + (writer.written.get() >> 20) + " MiB and stopped: " + writer.failure);
                assertTrue(written < (64L << 20), "the client got " + (written >> 20) + " MiB out before it was held back");
                assertEquals(1, s.stats().active());
            }
            Http.await("active back to 0", Duration.ofSeconds(10), () -> s.stats().active() == 0);
        }
    }

    /** Writes {@code frame} again and again until {@code limit} bytes or a failure, counting what went out. */
    private static final class RepeatingWriter implements Runnable {
        final java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        private final OutputStream out;
        private final byte[] frame;
        private final long limit;
        volatile Exception failure;

        RepeatingWriter(OutputStream out, byte[] frame, long limit) {
            this.out = out;
            this.frame = frame;
            this.limit = limit;
        }

        @Override
        public void run() {
            try {
                while (written.get() < limit) {
                    out.write(frame);
                    written.addAndGet(frame.length);
                }
            } catch (Exception e) {
                failure = e; // the socket closed under a blocked write: the test is over
            }
        }
    }

    /** A raw WebSocket upgrade to /ws; returns the socket after the 101. */
    private static Socket upgrade(int port) throws Exception {
        Socket socket = new Socket("127.0.0.1", port);
        String head = upgradeStatus(socket);
        assertTrue(head.startsWith("HTTP/1.1 101"), head);
        return socket;
    }

    /** Sends a WebSocket upgrade to /ws on {@code socket}; returns the answer's head. */
    private static String upgradeStatus(Socket socket) throws Exception {
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new AssertionError("connection closed in the answer's head: " + head);
            }
            head.append((char) c);
        }
        return head.toString();
    }

    /** Sends one masked text frame and reads the server's unmasked text frame back. */
    private static String echo(Socket socket, String text) throws Exception {
        byte[] payload = text.getBytes(StandardCharsets.UTF_8);
        byte[] mask = {1, 2, 3, 4};
        byte[] frame = new byte[6 + payload.length];
        frame[0] = (byte) 0x81;
        frame[1] = (byte) (0x80 | payload.length);
        System.arraycopy(mask, 0, frame, 2, 4);
        for (int i = 0; i < payload.length; i++) {
            frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
        }
        socket.getOutputStream().write(frame);
        InputStream in = socket.getInputStream();
        int b0 = in.read();
        int len = in.read() & 0x7f;
        assertEquals(0x81, b0, "a final text frame");
        return new String(in.readNBytes(len), StandardCharsets.UTF_8);
    }

    @Test
    void drainLeavesOpenSocketsWorkingAndSendsNoNewOnes() throws Exception {
        try (WsBackend b1 = WsBackend.start("b1"); WsBackend b2 = WsBackend.start("b2");
             RunningProxy proxy = RunningProxy.start(config("{\"server\": \"" + b1.address() + "\"}, {\"server\": \"" + b2.address() + "\"}", ""))) {
            try (WsClient first = WsClient.connect("ws://127.0.0.1:" + proxy.port() + "/ws")) {
                String name = first.ask("who").split(":")[0];
                String address = name.equals("b1") ? b1.address() : b2.address();
                Server drained = server(proxy, address);
                int id = drained.id();
                assertEquals(200, Http.send("PATCH", proxy.url("/api/upstreams/ws/servers/" + id), "application/json", "{\"drain\": true}").statusCode());
                for (int i = 0; i < 3; i++) {
                    try (WsClient other = WsClient.connect("ws://127.0.0.1:" + proxy.port() + "/ws")) {
                        assertTrue(!other.ask("new").startsWith(name + ":"), "a new WebSocket went to the drained server");
                    }
                }
                assertEquals(name + ":still here", first.ask("still here"));
                assertEquals(1, drained.stats().active());
            }
            Server drained = proxy.registry().get("ws").servers().stream().filter(s -> s.config().drain()).findFirst().orElseThrow();
            Http.await("the drained server's active back to 0", Duration.ofSeconds(10), () -> drained.stats().active() == 0);
        }
    }

    @Test
    void refusalIsPassedToTheClient() throws Exception {
        try (WsBackend b1 = WsBackend.start("b1");
             RunningProxy proxy = RunningProxy.start(config("{\"server\": \"" + b1.address() + "\"}", ""))) {
            String answer = rawUpgrade(proxy.port(), "/refuse");
            assertTrue(answer.startsWith("HTTP/1.1 403 "), answer);
            assertTrue(answer.contains("no WebSocket here"), answer);
        }
    }

    @Test
    void upgradeToTheApiPathStaysWithTheApi() throws Exception {
        try (WsBackend b1 = WsBackend.start("b1");
             RunningProxy proxy = RunningProxy.start(config("{\"server\": \"" + b1.address() + "\"}", ""))) {
            String answer = rawUpgrade(proxy.port(), "/api/upstreams");
            assertTrue(!answer.startsWith("HTTP/1.1 101"), answer);
            assertTrue(answer.contains(b1.address()), "the API's own answer: " + answer);
            assertEquals(0, b1.upgrades.get());
        }
    }

    @Test
    void connectFailureBeforeThe101GoesToTheNextServer() throws Exception {
        int dead = Backend.deadPort();
        try (WsBackend b1 = WsBackend.start("b1");
             RunningProxy proxy = RunningProxy.start(config("{\"server\": \"127.0.0.1:" + dead + "\", \"max_fails\": 0}, {\"server\": \"" + b1.address() + "\"}", ""))) {
            for (int i = 0; i < 4; i++) {
                try (WsClient ws = WsClient.connect("ws://127.0.0.1:" + proxy.port() + "/ws")) {
                    assertEquals("b1:" + i, ws.ask(String.valueOf(i)));
                }
            }
            assertTrue(server(proxy, "127.0.0.1:" + dead).stats().fails() >= 1);
            Http.await("active back to 0", Duration.ofSeconds(10), () -> server(proxy, b1.address()).stats().active() == 0);
        }
    }

    @Test
    void idleWebSocketIsClosedAfterTheIdleTimeout() throws Exception {
        try (WsBackend b1 = WsBackend.start("b1");
             RunningProxy proxy = RunningProxy.start(config("{\"server\": \"" + b1.address() + "\"}", ", \"proxy\": {\"websocket_idle_timeout\": \"1s\"}"))) {
            try (WsClient ws = WsClient.connect("ws://127.0.0.1:" + proxy.port() + "/ws")) {
                assertEquals("b1:a", ws.ask("a"));
                assertTrue(ws.closed.await(10, TimeUnit.SECONDS), "the idle WebSocket was not closed");
            }
            Http.await("active back to 0", Duration.ofSeconds(10), () -> server(proxy, b1.address()).stats().active() == 0);
        }
    }

    /** An upgrade request written by hand; returns everything the proxy answered until it closed. */
    static String rawUpgrade(int port, String path) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
