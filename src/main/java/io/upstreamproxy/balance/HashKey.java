package io.upstreamproxy.balance;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code consistent-hash} hashes: a header, cookie or query parameter by name, the path,
 * or the client address, written {@code header:X-User}, {@code cookie:session},
 * {@code query:user}, {@code path}, {@code remote_addr}. Header names are matched without
 * regard to case (HTTP says so); cookie and query names exactly.
 */
public record HashKey(Kind kind, String name) {
    /** The accepted forms, for error messages. */
    public static final String FORMS = "header:NAME, cookie:NAME, query:NAME, path or remote_addr";

    // NAME is an HTTP token (RFC 9110), which covers header, cookie and query parameter names in practice.
    private static final Pattern FORM = Pattern.compile("(header|cookie|query):([!#$%&'*+.^_`|~0-9A-Za-z-]+)|path|remote_addr");

    /** Where the key comes from. */
    public enum Kind { HEADER, COOKIE, QUERY, PATH, REMOTE_ADDR }

    /** Parses a {@code hash_key} value, or a {@link BalancerOptionException} naming the accepted forms. */
    public static HashKey parse(String text) {
        Matcher m = FORM.matcher(text == null ? "" : text);
        if (!m.matches()) {
            throw new BalancerOptionException("hash_key", "\"" + text + "\" (expected: " + FORMS + ")");
        }
        if (m.group(1) == null) {
            return new HashKey(text.equals("path") ? Kind.PATH : Kind.REMOTE_ADDR, null);
        }
        return new HashKey(Kind.valueOf(m.group(1).toUpperCase(java.util.Locale.ROOT)), m.group(2));
    }

    /** The key's value in a request, or null when the request does not carry it. */
    public String of(RequestInfo request) {
        return switch (kind) {
            case HEADER -> request.header(name);
            case COOKIE -> request.cookie(name);
            case QUERY -> request.query(name);
            case PATH -> request.path();
            case REMOTE_ADDR -> request.clientAddress();
        };
    }

    @Override
    public String toString() {
        return name == null ? kind.name().toLowerCase(java.util.Locale.ROOT) : kind.name().toLowerCase(java.util.Locale.ROOT) + ":" + name;
    }
}
