package io.upstreamproxy.proxy;

import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.util.URIUtil;

/**
 * The request's path as the proxy routes and forwards it: dot-segments removed (RFC 3986
 * 5.2.4), as nginx does, so {@code /app/../admin} is routed and forwarded as {@code /admin}.
 * The forwarded form keeps the client's percent-encoding; routing compares the decoded form,
 * so {@code /%61pp/} is routed as {@code /app/}. Decoding is unambiguous because the listener
 * refuses ambiguous encodings ({@code %2F}, {@code %2e%2e}, {@code %00}...) with 400 before
 * this runs (Jetty's RFC 3986 URI compliance, set in {@code Main}).
 *
 * @param forward the path in context to send, still encoded
 * @param route   the decoded path to match routes against
 */
record RequestPath(String forward, String route) {

    /** Null when the path climbs above the root ({@code /../x}): a bad request. */
    static RequestPath of(HttpServletRequest request) {
        String uri = request.getRequestURI();
        String context = request.getContextPath();
        return of(context.isEmpty() ? uri : uri.substring(context.length()));
    }

    /** From the raw (still encoded) path in context; null when it climbs above the root. */
    static RequestPath of(String raw) {
        if (raw == null || raw.isEmpty()) {
            raw = "/";
        }
        String canonical = raw.indexOf('.') < 0 ? raw : URIUtil.canonicalPath(raw);
        if (canonical == null) {
            return null;
        }
        String decoded = canonical.indexOf('%') < 0 ? canonical : URIUtil.decodePath(canonical);
        return new RequestPath(canonical, decoded);
    }
}
