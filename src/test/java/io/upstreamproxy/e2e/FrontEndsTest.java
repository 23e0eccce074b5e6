package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.Main;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RawBackend;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The jar's two front ends, Jetty's core API (the default) and the servlet (the WAR's, and the
 * jar's with {@code -Dupstream-proxy.front-end=servlet}), side by side: the same request gives
 * the server the same headers, and the same response gives the client the same headers. The
 * rest of the end-to-end suite runs once per front end (see the pom's surefire executions).
 */
class FrontEndsTest {
    private static final String REQUEST = "GET /echo?x=1 HTTP/1.1\r\nHost: app.example\r\n"
            + "Connection: keep-alive, X-Drop-Me\r\nX-Drop-Me: hop\r\nKeep-Alive: timeout=5\r\nTE: gzip;q=0.5, trailers\r\n"
            + "Proxy-Authorization: Basic eDp5\r\nProxy-Connection: keep-alive\r\n"
            + "Via: 1.0 corporate-cache\r\nForwarded: for=192.0.2.7\r\nX-Forwarded-For: 192.0.2.7\r\n"
            + "X-Forwarded-Host: spoofed.example\r\nAccept: text/plain\r\nX-Multi: a\r\nX-Multi: b\r\nCookie: s=1\r\n\r\n";

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    @Test
    void theJarServesThroughTheFrontEndItIsToldTo() throws Exception {
        Backend b = Backend.start("b");
        open.add(b);
        RunningProxy p = proxy(b.address(), System.getProperty(Main.FRONT_END));
        assertEquals(!"servlet".equals(System.getProperty(Main.FRONT_END)), p.coreFrontEnd());
        assertEquals(200, p.get("/").statusCode());
    }

    @Test
    void bothFrontEndsSendTheServerTheSameHeaders() throws Exception {
        Backend b = Backend.start("b");
        open.add(b);
        RunningProxy core = proxy(b.address(), null);
        RunningProxy servlet = proxy(b.address(), "servlet");
        assertTrue(core.coreFrontEnd());
        assertFalse(servlet.coreFrontEnd());
        assertTrue(core.nonBlocking(), "plain listeners only: proxied requests are handled where they are read");
        assertFalse(servlet.nonBlocking());

        assertEquals(200, exchange(core).status());
        assertEquals(200, exchange(servlet).status());

        Map<String, String> viaCore = new TreeMap<>(b.seen.get(0).headers());
        Map<String, String> viaServlet = new TreeMap<>(b.seen.get(1).headers());
        // each request gets an id of its own (SPEC §12): both send one, of the same shape
        assertTrue(viaCore.remove("x-request-id").matches("[0-9a-f]{32}"));
        assertTrue(viaServlet.remove("x-request-id").matches("[0-9a-f]{32}"));
        assertEquals(viaServlet, viaCore);
        // and what both send is what we mean to send
        assertEquals(b.address(), viaCore.get("host"), "the server's address, as nginx's proxy_pass to an address sends");
        assertFalse(viaCore.containsKey("x-drop-me"), "a header the Connection header names is hop-by-hop");
        assertFalse(viaCore.containsKey("proxy-authorization"));
        assertEquals("trailers", viaCore.get("te"), "TE is hop-by-hop but its trailers goes on, so the server may send trailer fields (gRPC needs them)");
        assertEquals("1.0 corporate-cache, 1.1 upstream-proxy", viaCore.get("via"));
        assertEquals("192.0.2.7, 127.0.0.1", viaCore.get("x-forwarded-for"));
        assertEquals("app.example", viaCore.get("x-forwarded-host"));
        assertEquals("a, b", viaCore.get("x-multi"));
        assertTrue(viaCore.get("forwarded").startsWith("for=192.0.2.7, by="), viaCore.get("forwarded"));
    }

    @Test
    void bothFrontEndsGiveTheClientTheSameHeaders() throws Exception {
        RawBackend raw = RawBackend.start((head, out) -> out.write(("HTTP/1.1 201 Created\r\nServer: backend/1.2.3\r\n"
                + "Content-Type: application/json\r\nConnection: X-Internal\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\n"
                + "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nCache-Control: no-store\r\nContent-Length: 2\r\n\r\n{}")
                .getBytes(StandardCharsets.ISO_8859_1)));
        open.add(raw);
        RunningProxy core = proxy(raw.address(), null);
        RunningProxy servlet = proxy(raw.address(), "servlet");

        RawHttp.Reply viaCore = exchange(core);
        RawHttp.Reply viaServlet = exchange(servlet);
        assertEquals(201, viaCore.status());
        assertEquals(viaServlet.status(), viaCore.status());
        assertEquals(viaServlet.body(), viaCore.body());
        assertEquals(comparable(viaServlet.headers()), comparable(viaCore.headers()));
        assertFalse(viaCore.headers().containsKey("server"), "no software version passes through");
        assertFalse(viaCore.headers().containsKey("x-internal"));
        assertTrue(viaCore.head().contains("Set-Cookie: a=1") && viaCore.head().contains("Set-Cookie: b=2"), viaCore.head());
    }

    private RunningProxy proxy(String server, String frontEnd) throws Exception {
        String before = System.getProperty(Main.FRONT_END);
        try {
            if (frontEnd == null) {
                System.clearProperty(Main.FRONT_END);
            } else {
                System.setProperty(Main.FRONT_END, frontEnd);
            }
            RunningProxy p = RunningProxy.start(("{'upstreams': {'app': {'servers': [{'server': '" + server + "'}]}},"
                    + " 'routes': [{'path': '/', 'upstream': 'app'}]}").replace('\'', '"'));
            open.add(p);
            return p;
        } finally {
            if (before == null) {
                System.clearProperty(Main.FRONT_END);
            } else {
                System.setProperty(Main.FRONT_END, before);
            }
        }
    }

    private static RawHttp.Reply exchange(RunningProxy p) throws Exception {
        try (RawHttp c = RawHttp.connect(p.port())) {
            return c.send(REQUEST).read();
        }
    }

    /** Headers to compare: the date moves, and the servlet writes Content-Type without its optional space. */
    private static Map<String, String> comparable(Map<String, String> headers) {
        Map<String, String> m = new TreeMap<>(headers);
        m.remove("date");
        m.computeIfPresent("content-type", (k, v) -> v.replace("; ", ";"));
        return m;
    }
}
