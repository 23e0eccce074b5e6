package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.RawBackend;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One client connection carrying several requests: one after another, pipelined in one write,
 * and ended by the client's {@code Connection: close}. The connection resumes after each
 * proxied exchange (see {@code ServerThreadPool}); runs on both front ends.
 */
class KeepAliveTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** A proxy in front of a server that answers each request with its own path. */
    private RunningProxy proxyToAPathEcho() throws Exception {
        RawBackend echo = RawBackend.start((head, out) -> {
            String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
            out.write(("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " + path.length() + "\r\n\r\n" + path).getBytes(StandardCharsets.ISO_8859_1));
        });
        open.add(echo);
        RunningProxy p = RunningProxy.inFrontOf(echo.address());
        open.add(p);
        return p;
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: app\r\n\r\n";
    }

    @Test
    void answersRequestsOneAfterAnotherOnOneConnection() throws Exception {
        RunningProxy p = proxyToAPathEcho();
        try (RawHttp client = RawHttp.connect(p.port())) {
            for (int i = 0; i < 20; i++) {
                RawHttp.Reply r = client.send(get("/n" + i)).read();
                assertEquals(200, r.status());
                assertEquals("/n" + i, r.body());
            }
        }
    }

    @Test
    void answersPipelinedRequestsInOrder() throws Exception {
        RunningProxy p = proxyToAPathEcho();
        try (RawHttp client = RawHttp.connect(p.port())) {
            client.send(get("/a") + get("/b?x=1") + get("/c"));
            assertEquals("/a", client.read().body());
            assertEquals("/b?x=1", client.read().body());
            assertEquals("/c", client.read().body());
            assertEquals("/d", client.send(get("/d")).read().body(), "the connection goes on after the pipelined batch");
        }
    }

    @Test
    void closesAfterTheRequestThatAsksForIt() throws Exception {
        RunningProxy p = proxyToAPathEcho();
        try (RawHttp client = RawHttp.connect(p.port())) {
            client.send(get("/a") + "GET /last HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n" + get("/never"));
            assertEquals("/a", client.read().body());
            RawHttp.Reply last = client.read();
            assertEquals("/last", last.body());
            assertEquals("close", last.headers().get("connection"));
            client.timeout(10_000);
            assertTrue(client.closedByPeer(), "closed after the response to the request that asked for it; the request after it is not served");
        }
    }
}
