package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.listen.ProxyServerConnector;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RawBackend;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The jar's own upstream connections ({@link OriginConnection}, {@link OriginPool}) against
 * servers that keep connections open, close them, frame bodies every way HTTP/1.1 allows and
 * answer out of turn; what the server does wrong counts against it, what the pool or the
 * client does never does.
 */
class OriginConnectionTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private RunningProxy proxy(String proxySettings, String server) throws Exception {
        String json = ("{" + proxySettings + "'upstreams': {'web': {'servers': [{'server': '" + server + "'}]}}}").replace('\'', '"');
        RunningProxy p = RunningProxy.start(json);
        open.add(p);
        assumeTrue(p.coreFrontEnd(), "the jar's own upstream connection; the servlet's is Jetty's HttpClient");
        return p;
    }

    private Backend backend(String name) throws Exception {
        Backend b = Backend.start(name);
        open.add(b);
        return b;
    }

    private KeepAliveServer server(KeepAliveServer.Script script) throws IOException {
        KeepAliveServer s = new KeepAliveServer(script);
        open.add(s);
        return s;
    }

    private static JsonObject serverState(RunningProxy p) throws Exception {
        HttpResponse<String> r = p.get("/api/upstreams/web");
        return JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonArray("servers").get(0).getAsJsonObject();
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting: " + what);
            Thread.sleep(10);
        }
    }

    private static OriginPool pool(RunningProxy p, String address) {
        ProxyEngine engine = p.runtime().engine();
        return engine.origins().existingPool(HostPort.parse(address), null);
    }

    @Test
    void carriesRequestsOneAfterAnotherOnOneConnection() throws Exception {
        KeepAliveServer s = server((n, head, out) -> ok(out, "answer " + n));
        RunningProxy p = proxy("", s.address());
        // One client connection: a second one (the JDK client opens one now and then) may be on
        // another event loop, whose requests rightly go up on a connection of that loop.
        RawHttp client = RawHttp.connect(p.port());
        open.add(client);
        // A hundred: an answer read before the writing thread hears its write completed is
        // rare, and once judged that way it closed the connection (two were seen, now and then).
        for (int i = 0; i < 100; i++) {
            RawHttp.Reply r = client.send("GET /x" + i + " HTTP/1.1\r\nHost: h\r\n\r\n").read();
            assertEquals(200, r.status());
            assertEquals("answer " + i, r.body());
        }
        assertEquals(1, s.connections.get(), "one upstream connection, reused");
    }

    /** Keep-alive clients of {@code p} until two are on different event loops (the listener accepts round the loops). */
    private List<RawHttp> clientsOnTwoLoops(RunningProxy p) throws Exception {
        assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "one core: one event loop");
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            RawHttp c = RawHttp.connect(p.port());
            open.add(c);
            assertEquals(200, c.send("GET /warm HTTP/1.1\r\nHost: h\r\n\r\n").read().status());
            clients.add(c);
            Set<Object> loops = new HashSet<>();
            p.clientEndPoints().forEach(e -> loops.add(ProxyServerConnector.loopOf(e)));
            if (loops.size() == 2 && clients.size() >= 2) {
                return clients;
            }
        }
        throw new AssertionError("eight clients, all on one event loop");
    }

    @Test
    void aClientsRequestsGoUpstreamFromItsOwnEventLoop() throws Exception {
        Backend b = backend("web");
        RunningProxy p = proxy("", b.address());
        List<RawHttp> clients = clientsOnTwoLoops(p);
        for (int round = 0; round < 5; round++) {
            for (RawHttp c : clients) { // one after the other: one connection would do for all
                assertEquals(200, c.send("GET /r" + round + " HTTP/1.1\r\nHost: h\r\n\r\n").read().status());
            }
        }
        OriginPool pool = pool(p, b.address());
        Set<Object> clientLoops = new HashSet<>();
        p.clientEndPoints().forEach(e -> clientLoops.add(ProxyServerConnector.loopOf(e)));
        await(() -> pool.counts()[1] == pool.counts()[0], "every upstream connection idle");
        assertEquals(clientLoops, new HashSet<>(pool.idleLoops()), "an upstream connection on each client's loop, and no other");
        assertEquals(2, pool.counts()[0], "one per loop: " + pool.idleLoops());
        assertEquals(clients.size(), p.clientEndPoints().size(), "the upstream connections are not counted as the listener's");
    }

    @Test
    void atTheLimitAnotherLoopsIdleConnectionServesRatherThanAWait() throws Exception {
        KeepAliveServer s = server((n, head, out) -> ok(out, "answer " + n));
        RunningProxy p = proxy("'proxy': {'max_connections_per_server': 1},", s.address());
        List<RawHttp> clients = clientsOnTwoLoops(p); // the second loop's client found the first loop's connection idle
        for (RawHttp c : clients) {
            c.timeout(5_000); // waiting for the idle connection to time out (15 s) and a new one would fail here
            assertEquals(200, c.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n").read().status());
        }
        assertEquals(1, s.connections.get(), "the one connection allowed, shared by the loops");
    }

    @Test
    void opensANewConnectionAfterTheServerSaysClose() throws Exception {
        KeepAliveServer s = server((n, head, out) -> {
            byte[] body = "bye".getBytes(StandardCharsets.US_ASCII);
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            return false;
        });
        RunningProxy p = proxy("", s.address());
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = p.get("/x");
            assertEquals(200, r.statusCode());
            assertEquals("bye", r.body());
        }
        assertEquals(3, s.connections.get());
        assertEquals(0, serverState(p).get("fails").getAsInt(), "a server closing as it said it would is no failure");
    }

    @Test
    void aBodyEndedByTheServerClosingArrivesWhole() throws Exception {
        KeepAliveServer s = server((n, head, out) -> {
            out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            out.write("first part, ".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            out.write("last part".getBytes(StandardCharsets.US_ASCII));
            return false;
        });
        RunningProxy p = proxy("", s.address());
        HttpResponse<String> r = p.get("/x");
        assertEquals(200, r.statusCode());
        assertEquals("first part, last part", r.body());
        assertEquals(0, serverState(p).get("fails").getAsInt());
    }

    @Test
    void theProxyClosesAConnectionIdleForUpstreamIdleTimeout() throws Exception {
        KeepAliveServer s = server((n, head, out) -> ok(out, "fine"));
        RunningProxy p = proxy("'proxy': {'upstream_idle_timeout': '300ms'},", s.address());
        long start = System.nanoTime();
        assertEquals(200, p.get("/one").statusCode());
        await(() -> s.closedByProxy.get() == 1, "the proxy closes its idle connection");
        long idleMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(idleMillis >= 300, "closed after " + idleMillis + " ms, not before the timeout");
        // the pool counts the connection down as it closes, a moment after the server saw the close
        await(() -> pool(p, s.address()).counts()[0] == 0, "no idle connection left in the pool");
        assertEquals(200, p.get("/two").statusCode());
        assertEquals(2, s.connections.get(), "a new connection for the next request");
        assertEquals(0, serverState(p).get("fails").getAsInt());
    }

    @Test
    void anIdleConnectionOutlivesAShorterReadTimeoutUntilUpstreamIdleTimeout() throws Exception {
        KeepAliveServer s = server((n, head, out) -> ok(out, "fine"));
        RunningProxy p = proxy("'proxy': {'read_timeout': '100ms', 'upstream_idle_timeout': '1500ms'},", s.address());
        long start = System.nanoTime();
        assertEquals(200, p.get("/one").statusCode());
        await(() -> s.closedByProxy.get() == 1, "the proxy closes its idle connection");
        long idleMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(idleMillis >= 1500, "closed after " + idleMillis + " ms: the read timeout is not the pool's");
        assertEquals(0, serverState(p).get("fails").getAsInt(), "an idle connection's timeout is nobody's fault");
    }

    @Test
    void anIdleConnectionTheServerClosedIsDroppedNotCounted() throws Exception {
        AtomicInteger answered = new AtomicInteger();
        KeepAliveServer s = server((n, head, out) -> {
            ok(out, "fine");
            return answered.incrementAndGet() > 1; // the first connection closes right after its answer, unannounced
        });
        RunningProxy p = proxy("", s.address());
        assertEquals(200, p.get("/one").statusCode());
        await(() -> pool(p, s.address()).counts()[0] == 0, "the proxy hears the server close its idle connection");
        HttpResponse<String> r = p.get("/two");
        assertEquals(200, r.statusCode());
        assertEquals("fine", r.body());
        assertEquals(2, s.connections.get());
        assertEquals(0, serverState(p).get("fails").getAsInt());
    }

    @Test
    void aRequestOnAConnectionTheServerJustClosedGoesAgainOnANewOne() throws Exception {
        KeepAliveServer s = server((n, head, out) -> {
            if (n == 1) {
                return false; // the second request finds the connection closing: read, never answered
            }
            return ok(out, "answer " + n);
        });
        RunningProxy p = proxy("", s.address());
        // One client connection, so both requests come from one event loop and share its pool.
        RawHttp client = RawHttp.connect(p.port());
        open.add(client);
        assertEquals("answer 0", client.send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n").read().body());
        RawHttp.Reply r = client.send("GET /two HTTP/1.1\r\nHost: h\r\n\r\n").read();
        assertEquals(200, r.status(), r.body());
        assertEquals("answer 2", r.body());
        assertEquals(2, s.connections.get());
        assertEquals(0, serverState(p).get("fails").getAsInt(), "a stale pooled connection is not the server failing");
    }

    /**
     * A POST on a connection the server just closed may have reached it: it is not sent again
     * (nginx's default too), and the server is not blamed for a connection closed while idle.
     */
    @Test
    void aPostOnAConnectionTheServerJustClosedIs502AndNotTheServersFault() throws Exception {
        KeepAliveServer s = server((n, head, out) -> {
            if (n == 1) {
                return false; // the POST finds the connection closing: read, never answered
            }
            return ok(out, "answer " + n);
        });
        RunningProxy p = proxy("", s.address());
        RawHttp client = RawHttp.connect(p.port());
        open.add(client);
        assertEquals("answer 0", client.send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n").read().body());
        RawHttp.Reply r = client.send("POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi").read();
        assertEquals(502, r.status(), r.body());
        assertTrue(r.body().contains("not sent again"), r.body());
        assertEquals(1, s.connections.get(), "not sent again on a new connection");
        assertEquals(0, serverState(p).get("fails").getAsInt(), "a stale pooled connection is not the server failing");
    }

    @Test
    void aServerThatClosesEveryNewConnectionUnansweredStillFails() throws Exception {
        KeepAliveServer s = server((n, head, out) -> n == 0 && ok(out, "only once"));
        RunningProxy p = proxy("", s.address());
        assertEquals("only once", p.get("/one").body());
        HttpResponse<String> r = p.get("/two"); // stale, then the new connection is closed too
        assertEquals(502, r.statusCode(), r.body());
        assertEquals(1, serverState(p).get("fails").getAsInt());
    }

    @Test
    void aFullQueueIs503AndNotTheServersFault() throws Exception {
        Backend b = backend("held");
        b.holdRequests(1);
        RunningProxy p = proxy("'proxy': {'max_connections_per_server': 1, 'max_queued_per_server': 1},", b.address());
        CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> get(p, "/first"));
        assertTrue(b.arrived.await(10, TimeUnit.SECONDS));
        CompletableFuture<HttpResponse<String>> second = CompletableFuture.supplyAsync(() -> get(p, "/second"));
        await(() -> pool(p, b.address()).counts()[2] == 1, "the second request waits for the one connection");
        HttpResponse<String> third = p.get("/third");
        assertEquals(503, third.statusCode(), third.body());
        assertTrue(third.body().contains("max_queued_per_server"), third.body());
        b.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(200, second.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(0, serverState(p).get("fails").getAsInt());
        assertEquals(1, pool(p, b.address()).counts()[0], "both went over the one connection");
    }

    @Test
    void theReadTimeoutDoesNotRunWhileTheClientIsSlowToRead() throws Exception {
        int size = 16 << 20;
        KeepAliveServer s = server((n, head, out) -> {
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + size + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] block = new byte[65536];
            for (int i = 0; i < size / block.length; i++) {
                out.write(block);
            }
            return true;
        });
        RunningProxy p = proxy("'proxy': {'read_timeout': '300ms'},", s.address());
        try (RawHttp c = RawHttp.connect(p.port())) {
            c.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
            InputStream in = c.input();
            byte[] buf = new byte[8192];
            long total = 0;
            long pauseUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1200);
            while (System.nanoTime() < pauseUntil) {
                Thread.sleep(50); // a client reading nothing for 4 read timeouts: the buffers fill, the server waits
            }
            int r;
            while (total < size && (r = in.read(buf)) > 0) {
                total += r;
            }
            assertTrue(total >= size, "the whole body arrived: " + total);
        }
        assertEquals(0, serverState(p).get("fails").getAsInt(), "the slow client is not the server's fault");
    }

    @Test
    void aSilentServerStillTimesOut() throws Exception {
        KeepAliveServer s = server((n, head, out) -> {
            Thread.sleep(3000);
            return false;
        });
        RunningProxy p = proxy("'proxy': {'read_timeout': '200ms'},", s.address());
        HttpResponse<String> r = p.get("/x");
        assertEquals(504, r.statusCode(), r.body());
        assertEquals(1, serverState(p).get("fails").getAsInt());
    }

    @Test
    void aChunkedRequestBodyGoesOnChunked() throws Exception {
        Backend b = backend("echo");
        RunningProxy p = proxy("", b.address());
        try (RawHttp c = RawHttp.connect(p.port())) {
            RawHttp.Reply r = c.send("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").read();
            assertEquals(200, r.status(), r.head());
        }
        Backend.Seen seen = b.seen.get(0);
        assertEquals("hello world", seen.body());
        assertEquals("chunked", seen.headers().get("transfer-encoding"));
    }

    @Test
    void aResponseHeadPastTheLimitIsTheServersFault() throws Exception {
        KeepAliveServer s = server((n, head, out) -> {
            out.write(("HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(200_000) + "\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return true;
        });
        RunningProxy p = proxy("", s.address());
        HttpResponse<String> r = p.get("/x");
        assertEquals(502, r.statusCode(), r.body());
        assertTrue(r.body().contains("invalid response"), r.body());
        assertEquals(1, serverState(p).get("fails").getAsInt());
    }

    @Test
    void anAnswerBeforeTheWholeBodyEndsTheConnection() throws Exception {
        KeepAliveServer s = server((n, head, out) -> {
            if (n == 0) {
                // Answers at once, without reading the body, and keeps the connection: what
                // follows the head is read as if it were the next request, until the proxy closes.
                out.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nnope".getBytes(StandardCharsets.US_ASCII));
                return true;
            }
            ok(out, "next");
            return true;
        });
        RunningProxy p = proxy("'proxy': {'buffer_body': '1k'},", s.address());
        try (RawHttp c = RawHttp.connect(p.port())) {
            c.send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(2000));
            RawHttp.Reply r = c.readHeadOnly();
            assertEquals(413, r.status(), r.head());
        }
        HttpResponse<String> next = p.get("/after");
        assertEquals(200, next.statusCode(), next.body());
        assertEquals("next", next.body());
        assertEquals(2, s.connections.get(), "the first connection was not reused");
    }

    private static HttpResponse<String> get(RunningProxy p, String path) {
        try {
            return p.get(path);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean ok(OutputStream out, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        byte[] head = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] whole = Arrays.copyOf(head, head.length + b.length);
        System.arraycopy(b, 0, whole, head.length, b.length);
        out.write(whole); // one write: a body sent apart waits out Nagle's delay (40 ms a response)
        return true;
    }

    /**
     * A backend on 127.0.0.1, port 0, that keeps each connection for as long as its script says:
     * it reads a request head (and a Content-Length body), lets the script answer, and closes
     * when the script returns false. It counts the connections it accepted.
     */
    static final class KeepAliveServer implements AutoCloseable {
        interface Script {
            /** Answers request {@code n} of the server; true keeps the connection open. */
            boolean respond(int n, String head, OutputStream out) throws Exception;
        }

        final AtomicInteger connections = new AtomicInteger();
        final AtomicInteger closedByProxy = new AtomicInteger();
        private final AtomicInteger requests = new AtomicInteger();
        private final ServerSocket listener;
        private final Script script;

        KeepAliveServer(Script script) throws IOException {
            this.script = script;
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::accept, "keep-alive-backend");
            t.setDaemon(true);
            t.start();
        }

        String address() {
            return "127.0.0.1:" + listener.getLocalPort();
        }

        private void accept() {
            while (!listener.isClosed()) {
                try {
                    Socket s = listener.accept();
                    connections.incrementAndGet();
                    Thread t = new Thread(() -> serve(s), "keep-alive-backend-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                while (true) {
                    String head = readHead(in);
                    if (head.isEmpty()) {
                        closedByProxy.incrementAndGet();
                        return;
                    }
                    boolean keep = script.respond(requests.getAndIncrement(), head, out);
                    out.flush();
                    if (!keep) {
                        return;
                    }
                }
            } catch (Exception e) {
                // the proxy went away, or the script closed on purpose
            }
        }

        private static String readHead(InputStream in) throws IOException {
            String head = RawBackend.readHead(in);
            return head.endsWith("\r\n\r\n") ? head : ""; // the proxy closed the connection
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }
}
