package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.upstreamproxy.listen.ProxyServerConnector.ClientEndPoint;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.io.EndPoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client's socket stays registered for reads while its request is proxied (no
 * {@code epoll_ctl} per request, {@link ClientEndPoint}), and gives the registration up when it
 * becomes readable with nobody reading, so the event loop never spins on bytes it leaves unread.
 */
class ClientReadInterestTest {
    private final List<AutoCloseable> open = new ArrayList<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch arrived = new CountDownLatch(1);

    @AfterEach
    void closeAll() throws Exception {
        release.countDown();
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** A proxy in front of a server that holds its first answer until {@link #release}. */
    private RunningProxy proxy() throws Exception {
        OriginConnectionTest.KeepAliveServer server = new OriginConnectionTest.KeepAliveServer((n, head, out) -> {
            if (n == 0) {
                arrived.countDown();
                release.await(20, TimeUnit.SECONDS);
            }
            String body = "answer " + n;
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.ISO_8859_1));
            return true;
        });
        open.add(server);
        RunningProxy p = RunningProxy.start(("{'upstreams': {'web': {'servers': [{'server': '" + server.address() + "'}]}}}").replace('\'', '"'));
        open.add(p);
        assumeTrue(p.coreFrontEnd(), "the jar's listener; a servlet container has its own");
        return p;
    }

    private static ClientEndPoint onlyClient(RunningProxy p) {
        List<ClientEndPoint> clients = new ArrayList<>();
        for (EndPoint e : p.clientEndPoints()) {
            if (e instanceof ClientEndPoint c) {
                clients.add(c);
            }
        }
        assertEquals(1, clients.size(), "one client connection");
        return clients.get(0);
    }

    /** A client of {@code p} whose first request the server holds. */
    private RawHttp clientWithRequestUpstream(RunningProxy p) throws Exception {
        RawHttp client = RawHttp.connect(p.port());
        open.add(client);
        client.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
        assertTrue(arrived.await(10, TimeUnit.SECONDS), "the request reached the server");
        return client;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting: " + what);
            Thread.sleep(5);
        }
    }

    @Test
    void aClientStaysRegisteredForReadsWhileItsRequestIsProxied() throws Exception {
        RunningProxy p = proxy();
        RawHttp client = clientWithRequestUpstream(p);
        ClientEndPoint endPoint = onlyClient(p);
        assertTrue(endPoint.readInterested(), "registered for reads while the request is upstream");
        release.countDown();
        assertEquals("answer 0", client.read().body());
        assertEquals("answer 1", client.send("GET /b HTTP/1.1\r\nHost: h\r\n\r\n").read().body());
        assertTrue(endPoint.readInterested(), "registered for the next request");
    }

    @Test
    void aRequestSentBeforeTheLastOneIsAnsweredDropsTheRegistrationAndIsServedAfter() throws Exception {
        RunningProxy p = proxy();
        RawHttp client = clientWithRequestUpstream(p);
        ClientEndPoint endPoint = onlyClient(p);
        client.send("GET /b HTTP/1.1\r\nHost: h\r\n\r\n"); // pipelined: nobody reads it yet
        await(() -> !endPoint.readInterested(), "the registration given up for bytes nobody reads");
        release.countDown();
        assertEquals("answer 0", client.read().body());
        assertEquals("answer 1", client.read().body(), "the pipelined request, read when the first ended");
        await(endPoint::readInterested, "registered again for the next request");
    }

    @Test
    void aClientThatStopsSendingMidRequestDoesNotKeepTheLoopBusy() throws Exception {
        RunningProxy p = proxy();
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), p.port());
        open.add(socket);
        OutputStream out = socket.getOutputStream();
        out.write("GET /a HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        assertTrue(arrived.await(10, TimeUnit.SECONDS), "the request reached the server");
        ClientEndPoint endPoint = onlyClient(p);
        socket.shutdownOutput(); // the end of input stays readable: watched, it would wake the loop forever
        await(() -> !endPoint.readInterested(), "the registration given up at the client's end of input");
        release.countDown();
        String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(answer.startsWith("HTTP/1.1 200") && answer.endsWith("answer 0"), answer);
    }
}
