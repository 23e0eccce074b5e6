package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/** The balancer's view of a servlet request; each key is read only when a balancer asks for it. */
final class ServletRequestInfo implements RequestInfo {
    private final HttpServletRequest request;
    private final String path;

    ServletRequestInfo(HttpServletRequest request, String path) {
        this.request = request;
        this.path = path;
    }

    @Override
    public String clientAddress() {
        return request.getRemoteAddr();
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public String header(String name) {
        return request.getHeader(name);
    }

    @Override
    public String cookie(String name) {
        Cookie[] cookies = request.getCookies();
        if (cookies != null) {
            for (Cookie c : cookies) {
                if (c.getName().equals(name)) {
                    return c.getValue();
                }
            }
        }
        return null;
    }

    @Override
    public String query(String name) {
        // Not request.getParameter: on a form POST that would consume the body we must forward.
        return queryValue(request.getQueryString(), name);
    }

    /** The decoded value of {@code name} in a raw query string, "" when it has no value, null when absent. */
    static String queryValue(String q, String name) {
        if (q == null) {
            return null;
        }
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (decode(key).equals(name)) {
                return eq < 0 ? "" : decode(pair.substring(eq + 1));
            }
        }
        return null;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }
}
