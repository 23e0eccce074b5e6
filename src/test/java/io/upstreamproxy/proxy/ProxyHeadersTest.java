package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import jakarta.servlet.http.HttpServletRequest;
import java.util.List;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Our Via and Forwarded are byte for byte what Jetty's AbstractProxyServlet writes, appended to the client's as written. */
class ProxyHeadersTest {
    private static final HttpClient CLIENT = new HttpClient();

    static {
        CLIENT.setUserAgentField(null); // the client's own header, not the proxy servlet's
    }

    /** Jetty's own header code, to compare with. */
    static final class Jetty extends AsyncProxyServlet {
        private static final long serialVersionUID = 1L;

        @Override
        public String getViaHost() {
            return UpstreamProxyServlet.VIA;
        }

        void via(HttpServletRequest c, Request p) {
            super.addViaHeader(c, p);
        }

        void forwarded(HttpServletRequest c, Request p) {
            super.addForwardedHeader(c, p);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        CLIENT.stop();
    }

    private static HttpServletRequest client(String protocol, String local, String remote, String host, String scheme) {
        HttpServletRequest r = mock(HttpServletRequest.class);
        when(r.getProtocol()).thenReturn(protocol);
        when(r.getLocalAddr()).thenReturn(local);
        when(r.getRemoteAddr()).thenReturn(remote);
        when(r.getHeader("Host")).thenReturn(host);
        when(r.getScheme()).thenReturn(scheme);
        return r;
    }

    private static Request upstream(String... headers) {
        Request r = CLIENT.newRequest("http://127.0.0.1:9/x");
        r.headers(h -> {
            for (int i = 0; i < headers.length; i += 2) {
                h.add(headers[i], headers[i + 1]);
            }
        });
        return r;
    }

    @Test
    void sameHeadersAsJettyForTheCommonCases() {
        Jetty jetty = new Jetty();
        List<HttpServletRequest> clients = List.of(
                client("HTTP/1.1", "127.0.0.1", "127.0.0.1", "127.0.0.1:8080", "http"),
                client("HTTP/2.0", "10.0.0.1", "192.0.2.7", "example.com", "https"),
                client("http/1.0", "[::1]", "[2001:db8::7]", "[::1]:8443", "https"),
                client("HTTP/1.1", "127.0.0.1", "127.0.0.1", "odd host;\"quoted\"", null),
                client("FOO", "127.0.0.1", "127.0.0.1", "h", "http"));
        for (HttpServletRequest c : clients) {
            Request theirs = upstream("X-Other", "1");
            jetty.via(c, theirs);
            jetty.forwarded(c, theirs);
            assertEquals(theirs.getHeaders().asString(), ours(c, "X-Other", "1").asString(), c.getProtocol() + " " + c.getHeader("Host"));
        }
        assertEquals("1.1 upstream-proxy", ours(clients.get(0)).get(HttpHeader.VIA));
    }

    /** What we send for client {@code c} onto {@code headers}. */
    private static HttpFields ours(HttpServletRequest c, String... headers) {
        HttpFields.Mutable out = HttpFields.build();
        for (int i = 0; i < headers.length; i += 2) {
            out.add(headers[i], headers[i + 1]);
        }
        ProxyHeaders.addViaAndForwarded(out, c.getProtocol(), c.getLocalAddr(), c.getRemoteAddr(), c.getHeader("Host"), c.getScheme());
        return out;
    }

    @Test
    void appendsToTheClientsValuesAsWritten() {
        HttpServletRequest c = client("HTTP/1.1", "127.0.0.1", "127.0.0.1", "h", "http");
        HttpFields merged = ours(c, "Via", "1.0 other", "Forwarded", "for=192.0.2.1");
        assertEquals("1.0 other, 1.1 upstream-proxy", merged.get(HttpHeader.VIA));
        assertEquals("for=192.0.2.1, by=\"127.0.0.1\";for=\"127.0.0.1\";host=\"h\";proto=http", merged.get(HttpHeader.FORWARDED));

        // quoted values stay quoted, and a value Jetty's parser refuses is appended to, not parsed
        HttpFields quoted = ours(c, "Forwarded", "for=\"[2001:db8::1]:4711\"", "Via", "1.1 \"corp cache\"", "Via", "1.0 b");
        assertEquals("1.1 \"corp cache\", 1.0 b, 1.1 upstream-proxy", quoted.get(HttpHeader.VIA));
        assertEquals(1, quoted.getFields(HttpHeader.VIA).size(), "one field");
        assertTrue(quoted.get(HttpHeader.FORWARDED).startsWith("for=\"[2001:db8::1]:4711\", by="));

        HttpFields noHost = ours(client("HTTP/1.0", "127.0.0.1", "127.0.0.1", null, "http"));
        assertFalse(noHost.contains(HttpHeader.FORWARDED), "no Host, no Forwarded element");
    }
}
