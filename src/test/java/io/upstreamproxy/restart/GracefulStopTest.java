package io.upstreamproxy.restart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.ProxyProcess;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.WsBackend;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SIGTERM on the proxy process: requests in flight finish, keep-alive clients are told to close, exit 0, each step logged. */
class GracefulStopTest {
    @TempDir
    Path dir;
    private Backend slow;
    private ProxyProcess proxy;

    @AfterEach
    void close() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (slow != null) {
            slow.close();
        }
    }

    private int start(String shutdown) throws Exception {
        return start(shutdown, false);
    }

    private int start(String shutdown, boolean http2) throws Exception {
        slow = Backend.start("slow");
        slow.delayMillis = 2_000; // every request takes two seconds at the server
        Path config = dir.resolve("proxy.json");
        Files.writeString(config, ("{'listen': {'host': '127.0.0.1', 'port': 0, 'http2': " + http2 + "}, 'upstreams': {'b': {'servers': [{'server': '"
                + slow.address() + "'}]}}" + shutdown + "}").replace('\'', '"'));
        proxy = ProxyProcess.start(dir, Map.of(), "--config", config.toString(), "--no-access-log");
        return proxy.port();
    }

    @Test
    void twentyTwoSecondRequestsInFlightAllFinishThenExitZero() throws Exception {
        // An idle keep-alive connection (the client's pool may keep one) holds the stop until
        // shutdown.timeout: 10 s, well inside the exit's wait below.
        int port = start(", 'shutdown': {'timeout': '10s'}");
        List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            String url = "http://127.0.0.1:" + port + "/r" + i;
            inFlight.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return Http.get(url);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, command -> new Thread(command).start()));
        }
        Http.await("20 requests at the server", Duration.ofSeconds(30), () -> slow.hits.get() == 20);
        proxy.terminate();
        for (CompletableFuture<HttpResponse<String>> f : inFlight) {
            HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r::body);
            assertEquals("slow", r.body());
        }
        assertEquals(0, proxy.exitCode(Duration.ofSeconds(30)), () -> String.join("\n", proxy.err));
        assertTrue(proxy.err.stream().anyMatch(l -> l.contains("stopping: 20 request(s) in flight; telling keep-alive clients to close, then closing the listeners")), () -> String.join("\n", proxy.err));
        assertTrue(proxy.err.stream().anyMatch(l -> l.contains("upstream-proxy stopped: drained in") && l.contains(", 0 request(s) cut off")),
                () -> String.join("\n", proxy.err));
    }

    /**
     * The request in flight when the stop begins is answered; the connection's next request,
     * sent during the stop, is answered too, with {@code Connection: close}, and the connection
     * is then closed (the client's next request goes to whatever replaced this process).
     */
    @Test
    void aKeepAliveConnectionIsAnsweredThenToldToCloseDuringTheStop() throws Exception {
        int port = start("");
        // Well inside the stop's first step (at most 2 s of Connection: close while the listeners
        // stay open): at 2 s the first answer and the end of that step raced, and the second
        // request could meet Jetty's graceful part, which ends a connection after its exchange.
        slow.delayMillis = 500;
        try (RawHttp c = RawHttp.connect(port)) {
            c.send("GET /first HTTP/1.1\r\nHost: app\r\n\r\n");
            Http.await("the request at the server", Duration.ofSeconds(30), () -> slow.hits.get() == 1);
            proxy.terminate();
            proxy.awaitLog("closing the listeners", Duration.ofSeconds(30));
            // Sent during the stop, while the first is still at the server: the connection is busy,
            // so the stop cannot take it for idle (sent after the first answer, a loaded machine
            // could let the stop's 200 ms of quiet pass first, and the test would race it).
            c.send("GET /next HTTP/1.1\r\nHost: app\r\n\r\n");
            assertEquals(200, c.read().status());
            RawHttp.Reply next = c.read();
            assertEquals(200, next.status());
            assertEquals("close", next.headers().get("connection"), next.head());
            assertTrue(c.closedByPeer());
        }
        assertEquals(0, proxy.exitCode(Duration.ofSeconds(30)));
    }

    /**
     * A keep-alive connection idle when Jetty's graceful part begins (the listener closed, a
     * request on another connection still in flight) is not closed at once: Jetty would shorten
     * its idle timeout to a second from its last request, long past, and a client whose next
     * request crossed that close would get no answer. Its next request, sent after the listener
     * closed, is answered with {@code Connection: close}; then the connection closes. Another
     * connection that stays idle is closed a few seconds after the listener, not at the stop's
     * deadline, and the stop ends.
     */
    @Test
    void anIdleKeepAliveConnectionIsNotClosedWhileDrainingItsNextRequestIsAnsweredWithClose() throws Exception {
        int port = start(", 'shutdown': {'idle_timeout': '5s'}");
        slow.delayMillis = 0;
        try (RawHttp idle = RawHttp.connect(port); RawHttp silent = RawHttp.connect(port); RawHttp busy = RawHttp.connect(port)) {
            idle.send("GET /first HTTP/1.1\r\nHost: app\r\n\r\n");
            assertEquals(200, idle.read().status());
            silent.send("GET /first HTTP/1.1\r\nHost: app\r\n\r\n");
            assertEquals(200, silent.read().status());
            // In flight for 6 s: the stop's first step (Connection: close, 2 s at most while a
            // request is in flight) ends, the listener closes, and Jetty's second would pass.
            slow.delayMillis = 6_000;
            busy.send("GET /slow HTTP/1.1\r\nHost: app\r\n\r\n");
            Http.await("the slow request at the server", Duration.ofSeconds(30), () -> slow.hits.get() == 3);
            long stop = System.nanoTime();
            proxy.terminate();
            Http.await("the listener closed", Duration.ofSeconds(30), () -> !accepts(port));
            slow.delayMillis = 0;
            idle.send("GET /next HTTP/1.1\r\nHost: app\r\n\r\n");
            RawHttp.Reply next = idle.read();
            assertEquals(200, next.status());
            assertEquals("close", next.headers().get("connection"), next.head());
            assertTrue(idle.closedByPeer());
            assertEquals(200, busy.read().status());
            Http.await("the silent connection closed after its grace", Duration.ofSeconds(20), silent::closedByPeer);
            long closedAfter = (System.nanoTime() - stop) / 1_000_000;
            assertTrue(closedAfter < 20_000, "closed " + closedAfter + " ms after the stop began, before shutdown.timeout (30 s)");
        }
        assertEquals(0, proxy.exitCode(Duration.ofSeconds(30)), () -> String.join("\n", proxy.err));
    }

    private static boolean accepts(int port) {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /**
     * An open WebSocket lives on until shutdown.timeout, then both its client and its server
     * get a close frame with status 1001 (going away), and the process exits 0.
     */
    @Test
    void anOpenWebSocketGetsGoingAwayOnBothSidesAtTheShutdownTimeout() throws Exception {
        try (WsBackend ws = WsBackend.start("ws")) {
            Path config = dir.resolve("proxy.json");
            Files.writeString(config, ("{'listen': {'host': '127.0.0.1', 'port': 0}, 'upstreams': {'ws': {'servers': [{'server': '"
                    + ws.address() + "'}]}}, 'shutdown': {'timeout': '1s'}}").replace('\'', '"'));
            proxy = ProxyProcess.start(dir, Map.of(), "--config", config.toString(), "--no-access-log");
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", proxy.port())) {
                socket.setSoTimeout(15_000);
                socket.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                java.io.InputStream in = socket.getInputStream();
                StringBuilder head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n")) {
                    int c = in.read();
                    assertTrue(c >= 0, () -> "closed in the head: " + head);
                    head.append((char) c);
                }
                assertTrue(head.toString().startsWith("HTTP/1.1 101"), head::toString);
                proxy.terminate();
                proxy.awaitLog("1 WebSocket(s) open; closing them with 1001", Duration.ofSeconds(30));
                byte[] frame = in.readNBytes(4);
                assertEquals("88 02 03 e9", java.util.HexFormat.ofDelimiter(" ").formatHex(frame), "a close frame, status 1001, to the client");
                Integer serverSaw = ws.closeCodes.poll(15, TimeUnit.SECONDS);
                assertEquals(1001, serverSaw, "the close status the server got");
            }
            assertEquals(0, proxy.exitCode(Duration.ofSeconds(30)), () -> String.join("\n", proxy.err));
            assertTrue(proxy.err.stream().anyMatch(l -> l.contains("1 WebSocket(s) told to go away (1001)")), () -> String.join("\n", proxy.err));
        }
    }

    /** An HTTP/2 connection (h2c, prior knowledge) gets a GOAWAY, and its stream in flight is answered. */
    @Test
    void anHttp2ConnectionGetsGoAwayAndItsStreamInFlightIsAnswered() throws Exception {
        int port = start("", true);
        HTTP2Client client = new HTTP2Client();
        client.start();
        try {
            CompletableFuture<GoAwayFrame> goAway = new CompletableFuture<>();
            Session session = client.connect(new InetSocketAddress("127.0.0.1", port), new Session.Listener() {
                @Override
                public void onGoAway(Session s, GoAwayFrame frame) {
                    goAway.complete(frame);
                }
            }).get(10, TimeUnit.SECONDS);
            CompletableFuture<Integer> status = new CompletableFuture<>();
            CompletableFuture<Void> ended = new CompletableFuture<>();
            MetaData.Request request = new MetaData.Request("GET", HttpURI.from("http://127.0.0.1:" + port + "/h2"), HttpVersion.HTTP_2, HttpFields.EMPTY);
            session.newStream(new HeadersFrame(request, null, true), new Stream.Listener() {
                @Override
                public void onHeaders(Stream stream, HeadersFrame frame) {
                    if (frame.getMetaData() instanceof MetaData.Response r) {
                        status.complete(r.getStatus());
                    }
                    if (frame.isEndStream()) {
                        ended.complete(null);
                    } else {
                        stream.demand();
                    }
                }

                @Override
                public void onDataAvailable(Stream stream) {
                    Stream.Data data = stream.readData();
                    if (data != null) {
                        data.release();
                        if (data.frame().isEndStream()) {
                            ended.complete(null);
                            return;
                        }
                    }
                    stream.demand();
                }
            }).get(10, TimeUnit.SECONDS);
            Http.await("the request at the server", Duration.ofSeconds(30), () -> slow.hits.get() == 1);
            proxy.terminate();
            goAway.get(30, TimeUnit.SECONDS);
            assertEquals(200, status.get(30, TimeUnit.SECONDS));
            ended.get(30, TimeUnit.SECONDS);
        } finally {
            client.stop();
        }
        assertEquals(0, proxy.exitCode(Duration.ofSeconds(30)), () -> String.join("\n", proxy.err));
    }

    @Test
    void readinessTurns503ForTheDelayFirstAndEachStepIsLogged() throws Exception {
        int port = start(", 'shutdown': {'delay': '2s', 'timeout': '10s'}");
        assertEquals(200, Http.get("http://127.0.0.1:" + port + "/api/ready").statusCode());
        proxy.terminate();
        proxy.awaitLog("/api/ready answers 503", Duration.ofSeconds(30));
        assertEquals(503, Http.get("http://127.0.0.1:" + port + "/api/ready").statusCode());
        assertEquals(200, Http.get("http://127.0.0.1:" + port + "/still-served").statusCode(), "proxying goes on during the delay");
        assertEquals(0, proxy.exitCode(Duration.ofSeconds(30)));
        String log = String.join("\n", proxy.err);
        assertTrue(log.indexOf("/api/ready answers 503") < log.indexOf("closing the listeners") && log.contains("upstream-proxy stopped"), log);
    }
}
