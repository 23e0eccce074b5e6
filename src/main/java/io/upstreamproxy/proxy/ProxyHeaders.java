package io.upstreamproxy.proxy;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.util.QuotedStringTokenizer;

/**
 * {@code Via} and {@code Forwarded}, as Jetty 12.1's {@code AbstractProxyServlet} writes them,
 * for both front ends. Jetty's per-request {@code String.formatted}, {@code split} and stream
 * merging were about 5% of the proxy's Java CPU samples in the benchmark's profile
 * (docs/benchmark.md). When the client already sent the header, ours is appended to its values
 * as they were written: Jetty re-parsed them, which unquoted {@code for="[2001:db8::1]:4711"}
 * (no longer valid RFC 7239) and failed the request with a 500 on a value it could not parse
 * ({@code Via: 1.1 "corp cache"}).
 */
final class ProxyHeaders {
    private static final QuotedStringTokenizer QUOTE = HttpField.PARAMETER_TOKENIZER;

    private ProxyHeaders() {}

    /**
     * Appends {@code Via: 1.1 upstream-proxy} and, when the client sent a Host, Forwarded's
     * {@code by=...;for=...;host=...;proto=...} to what {@code out} has: Jetty's
     * AbstractProxyServlet values, byte for byte ({@code ProxyHeadersTest}).
     */
    static void addViaAndForwarded(HttpFields.Mutable out, String protocol, String localAddr, String remoteAddr, String host, String scheme) {
        append(out, HttpHeader.VIA, protocolVersion(protocol) + " " + UpstreamProxyServlet.VIA);
        if (host != null) {
            append(out, HttpHeader.FORWARDED, forwarded(localAddr, remoteAddr, host, scheme == null ? "http" : scheme));
        }
    }

    /**
     * Adds {@code value} as the last element of {@code header}: after the values already there,
     * byte for byte as written (several fields joined with ", ", blank ones left out), in one field.
     */
    static void append(HttpFields.Mutable out, HttpHeader header, String value) {
        StringBuilder merged = null;
        for (HttpField f : out) { // not getFields(header): it collects a stream
            if (f.getHeader() == header && f.getValue() != null && !f.getValue().isBlank()) {
                merged = merged == null ? new StringBuilder() : merged.append(", ");
                merged.append(f.getValue().trim());
            }
        }
        out.put(header, merged == null ? value : merged.append(", ").append(value).toString());
    }

    /**
     * X-Forwarded-For ({@code priorFor}, the client's, appended to), -Proto and -Host (removed
     * without a Host), as nginx's usual proxy_set_header lines.
     */
    static void xForwarded(HttpFields.Mutable out, String priorFor, String remote, String scheme, String host) {
        out.put(HttpHeader.X_FORWARDED_FOR, priorFor == null || priorFor.isBlank() ? remote : priorFor + ", " + remote);
        out.put(HttpHeader.X_FORWARDED_PROTO, scheme);
        if (host != null) {
            out.put(HttpHeader.X_FORWARDED_HOST, host);
        } else {
            out.remove(HttpHeader.X_FORWARDED_HOST);
        }
    }

    /** One {@code Forwarded} element, as Jetty writes it. */
    static String forwarded(String localAddr, String remoteAddr, String host, String scheme) {
        // One builder for the whole element: QUOTE.quote(String) makes a StringBuffer per
        // value, which was 4% of the jar's CPU per proxied request (docs/benchmark.md).
        StringBuilder b = new StringBuilder(128);
        b.append("by=");
        QUOTE.quote(b, localAddr);
        b.append(";for=");
        QUOTE.quote(b, remoteAddr);
        b.append(";host=");
        QUOTE.quote(b, host);
        return b.append(";proto=").append(scheme).toString();
    }

    /** "HTTP/1.1" gives "1.1"; anything not of the form HTTP/x (any case) is kept whole, as Jetty does. */
    static String protocolVersion(String protocol) {
        return protocol.indexOf('/') == 4 && protocol.regionMatches(true, 0, "HTTP", 0, 4) ? protocol.substring(5) : protocol;
    }
}
