package io.upstreamproxy.config;

/**
 * A server address as written in the config: {@code host:port}, IPv6 literals in brackets
 * ({@code [::1]:8080}). Hostnames are kept as written and resolved by the HTTP client.
 */
public record HostPort(String host, int port) {

    /** Parses {@code "127.0.0.1:9001"}; returns null when the text is not host:port. */
    public static HostPort parse(String text) {
        String s = text.trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            return null;
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[")) {
            if (!host.endsWith("]") || host.length() < 3) {
                return null;
            }
        } else if (host.contains(":") || host.isBlank() || host.contains("/") || host.contains(" ")) {
            return null;
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        if (port < 1 || port > 65535) {
            return null;
        }
        return new HostPort(host, port);
    }

    /** True for {@code 10.0.0.1} and {@code [::1]}: an address, not a host name to resolve. */
    public static boolean isIpLiteral(String host) {
        return host.startsWith("[") || host.matches("\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    /** True when the host is a name (not an IP literal). */
    public boolean isName() {
        return !isIpLiteral(host);
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
