package io.upstreamproxy.proxy;

import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.util.QuotedStringTokenizer;

/**
 * {@code Via} and {@code Forwarded} exactly as Jetty 12.1's {@code AbstractProxyServlet}
 * writes them, without its per-request {@code String.formatted}, {@code split} and stream
 * merging: those were about 5% of the proxy's Java CPU samples in the benchmark's profile
 * (docs/benchmark.md). Only the common case is done here, a request that does not carry the
 * header yet; each method returns false otherwise, and the caller lets Jetty merge.
 */
final class ProxyHeaders {
    private static final QuotedStringTokenizer QUOTE = HttpField.PARAMETER_TOKENIZER;

    private ProxyHeaders() {}

    /** Adds {@code Via: 1.1 viaHost} unless the request already has a Via header (then false). */
    static boolean addVia(HttpServletRequest clientRequest, Request proxyRequest, String viaHost) {
        if (proxyRequest.getHeaders().contains(HttpHeader.VIA)) {
            return false;
        }
        String value = protocolVersion(clientRequest.getProtocol()) + " " + viaHost;
        proxyRequest.headers(h -> h.add(HttpHeader.VIA, value));
        return true;
    }

    /**
     * Adds {@code Forwarded: by=...;for=...;host=...;proto=...} unless the request already has
     * a Forwarded header or no Host (then false).
     */
    static boolean addForwarded(HttpServletRequest clientRequest, Request proxyRequest) {
        String host = clientRequest.getHeader("Host");
        if (host == null || proxyRequest.getHeaders().contains(HttpHeader.FORWARDED)) {
            return false;
        }
        String scheme = clientRequest.getScheme();
        if (scheme == null) {
            scheme = clientRequest.isSecure() ? "https" : "http";
        }
        String value = forwarded(clientRequest.getLocalAddr(), clientRequest.getRemoteAddr(), host, scheme);
        proxyRequest.headers(h -> h.add(HttpHeader.FORWARDED, value));
        return true;
    }

    /** One {@code Forwarded} element, as Jetty writes it. */
    static String forwarded(String localAddr, String remoteAddr, String host, String scheme) {
        return "by=" + QUOTE.quote(localAddr) + ";for=" + QUOTE.quote(remoteAddr) + ";host=" + QUOTE.quote(host) + ";proto=" + scheme;
    }

    /** "HTTP/1.1" gives "1.1"; anything not of the form HTTP/x (any case) is kept whole, as Jetty does. */
    static String protocolVersion(String protocol) {
        return protocol.indexOf('/') == 4 && protocol.regionMatches(true, 0, "HTTP", 0, 4) ? protocol.substring(5) : protocol;
    }
}
