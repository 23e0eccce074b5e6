package io.upstreamproxy.proxy;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * The headers the jar's {@link CoreProxyHandler} sends upstream and back, the same as the
 * servlet's (Jetty's {@code AbstractProxyServlet} copy and our additions in
 * {@link UpstreamProxyServlet}); {@code FrontEndsTest} holds the two side by side.
 * Upstream: the client's headers without {@code Host}, the hop-by-hop ones, those the
 * {@code Connection} header names and {@code Expect}; then {@code Via}, {@code Forwarded} and
 * {@code X-Forwarded-For/-Proto/-Host}. Back to the client: the server's headers without the
 * hop-by-hop ones (those its {@code Connection} header names included) and {@code Server}.
 */
final class CoreHeaders {
    // Not "trailer": RFC 9110 made it end to end (it names the trailer fields a body ends with,
    // which we pass both ways). "te" is hop-by-hop, but its "trailers" goes on (see te()).
    private static final Set<String> HOP = Set.of("connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
            "proxy-connection", "transfer-encoding", "te", "upgrade");
    /** {@link #HOP} by Jetty's names for them: a field the parser knew is told by a bit, not a string's hash. */
    private static final Set<HttpHeader> HOP_HEADERS = EnumSet.of(HttpHeader.CONNECTION, HttpHeader.KEEP_ALIVE, HttpHeader.PROXY_AUTHORIZATION,
            HttpHeader.PROXY_AUTHENTICATE, HttpHeader.PROXY_CONNECTION, HttpHeader.TRANSFER_ENCODING, HttpHeader.TE, HttpHeader.UPGRADE);

    private static final String TRAILERS = "trailers";

    private CoreHeaders() {}

    /** The headers of the request to the server, for {@code client}'s request. */
    static void toServer(ClientSide client, HttpFields.Mutable out) {
        HttpFields in = client.requestHeaders();
        Set<String> listed = connectionListed(in);
        for (HttpField f : in) {
            HttpHeader h = f.getHeader();
            if (h == HttpHeader.HOST || h == HttpHeader.EXPECT) {
                continue;
            }
            if (h == HttpHeader.TE && te(f.getValue()) != null) {
                out.add(HttpHeader.TE, TRAILERS);
                continue;
            }
            if (!endToEnd(f, listed)) {
                continue;
            }
            out.add(f);
        }
        String scheme = client.scheme();
        String remote = client.remoteAddr();
        String host = in.get(HttpHeader.HOST);
        ProxyHeaders.addViaAndForwarded(out, client.protocol(), client.localAddr(), remote, host, scheme);
        ProxyHeaders.xForwarded(out, in.get(HttpHeader.X_FORWARDED_FOR), remote, scheme, host);
    }

    /**
     * The server's response headers onto the client's: its {@code Date} in place of the one
     * Jetty put there, and every other one that {@link #toClient} lets through.
     */
    static void copyToClient(HttpFields server, HttpFields.Mutable client) {
        Set<String> listed = connectionListed(server);
        for (HttpField f : server) {
            if (f.getHeader() == HttpHeader.DATE) {
                client.put(f);
            } else if (toClient(f, listed)) {
                client.add(f);
            }
        }
    }

    /**
     * Whether a server's response header goes on to the client; {@code listed}: the names the
     * response's {@code Connection} header gives ({@link #connectionListed}), hop-by-hop too.
     */
    static boolean toClient(HttpField f, Set<String> listed) {
        return f.getHeader() != HttpHeader.SERVER && endToEnd(f, listed);
    }

    /** Neither hop-by-hop by name nor named by the message's {@code Connection} header ({@code listed}). */
    private static boolean endToEnd(HttpField f, Set<String> listed) {
        HttpHeader h = f.getHeader();
        if (h != null ? HOP_HEADERS.contains(h) : HOP.contains(f.getLowerCaseName())) {
            return false;
        }
        return listed == null || !listed.contains(f.getLowerCaseName());
    }

    /**
     * What a client's {@code TE} header passes on to the server: {@code trailers} when it says
     * it takes trailer fields (gRPC requires it, and a server may only send them then), else
     * null. Its transfer codings are this hop's alone.
     */
    static String te(String clientTe) {
        if (clientTe == null) {
            return null;
        }
        for (String v : clientTe.split(",")) {
            String coding = v.trim();
            int semi = coding.indexOf(';');
            if ((semi < 0 ? coding : coding.substring(0, semi).trim()).equalsIgnoreCase(TRAILERS)) {
                return TRAILERS;
            }
        }
        return null;
    }

    /** The lower-case names a {@code Connection} header lists, or null when there is none. */
    static Set<String> connectionListed(HttpFields in) {
        Set<String> names = null;
        for (HttpField f : in) { // not getFields(CONNECTION): it collects a stream, on every request and response
            if (f.getHeader() != HttpHeader.CONNECTION) {
                continue;
            }
            for (String v : f.getValue().split(",")) {
                String name = v.trim().toLowerCase(Locale.ENGLISH);
                if (name.equals("close") || HOP.contains(name)) {
                    continue; // the usual "keep-alive" and "close": dropped anyway, no set to build
                }
                if (names == null) {
                    names = new HashSet<>();
                }
                names.add(name);
            }
        }
        return names;
    }
}
