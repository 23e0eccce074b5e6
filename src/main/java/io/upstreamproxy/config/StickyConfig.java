package io.upstreamproxy.config;

import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * An upstream's {@code sticky} setting (SPEC §13): either {@code cookie}, a cookie of ours that
 * names the server (NGINX Plus {@code sticky cookie}, HAProxy {@code cookie insert}), or
 * {@code learn}, the application's own session cookie bound to the server that set it (NGINX
 * Plus {@code sticky learn}). Exactly one of {@code cookie} and {@code learn} is set; the other
 * mode's fields are their defaults.
 *
 * @param expires  the cookie's Max-Age; null: a session cookie, gone when the browser closes
 * @param domain   the cookie's Domain; null: none sent (the host that answered)
 * @param sameSite {@code Strict}, {@code Lax} or {@code None}; null: none sent
 * @param timeout  how long a learned session stays bound after its last request
 */
public record StickyConfig(String cookie, Duration expires, String path, String domain, boolean secure, boolean httpOnly,
                           String sameSite, String learn, Duration timeout, int maxEntries) {
    /** RFC 6265's cookie-name: an HTTP token. */
    private static final Pattern NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}");
    /** Path and Domain values: visible ASCII without ';' (RFC 6265 av-value). */
    private static final Pattern ATTRIBUTE = Pattern.compile("[\\x21-\\x3A\\x3C-\\x7E]{1,255}");
    private static final List<String> SAME_SITE = List.of("Strict", "Lax", "None");

    public boolean learns() {
        return learn != null;
    }

    /** The cookie the request carries to find its server: ours, or the application's. */
    public String requestCookie() {
        return learns() ? learn : cookie;
    }

    static StickyConfig read(JsonFields f) {
        boolean hasCookie = f.has("cookie");
        boolean hasLearn = f.has("learn");
        if (hasCookie == hasLearn) {
            throw new ConfigException(f.pathOf(hasCookie ? "learn" : "cookie"), (hasCookie ? "set together with cookie" : "missing")
                    + " (expected: either \"cookie\": \"NAME\" or \"learn\": \"NAME\")");
        }
        StickyConfig s = hasCookie ? readCookie(f) : readLearn(f);
        f.finish(); // the other mode's keys were never read: an error naming them
        return s;
    }

    private static StickyConfig readCookie(JsonFields f) {
        String name = name(f, "cookie");
        Duration expires = f.duration("expires", null, Duration.ofSeconds(1), Duration.ofDays(3650));
        String path = attribute(f, "path", "/");
        String domain = attribute(f, "domain", null);
        boolean secure = f.bool("secure", false);
        boolean httpOnly = f.bool("httponly", true);
        String sameSite = f.string("samesite", null);
        if (sameSite != null && !SAME_SITE.contains(sameSite)) {
            throw new ConfigException(f.pathOf("samesite"), "\"" + sameSite + "\" (expected: \"Strict\", \"Lax\" or \"None\")");
        }
        if ("None".equals(sameSite) && !secure) {
            throw new ConfigException(f.pathOf("samesite"), "\"None\" without \"secure\": true (expected: browsers drop such a cookie)");
        }
        return new StickyConfig(name, expires, path, domain, secure, httpOnly, sameSite, null, null, 0);
    }

    private static StickyConfig readLearn(JsonFields f) {
        String name = name(f, "learn");
        Duration timeout = f.duration("timeout", Duration.ofHours(1), Duration.ofSeconds(1), Duration.ofDays(30));
        int maxEntries = f.integer("max_entries", 100_000, 1, 10_000_000);
        return new StickyConfig(null, null, null, null, false, false, null, name, timeout, maxEntries);
    }

    private static String name(JsonFields f, String key) {
        String name = f.string(key, null);
        if (!NAME.matcher(name).matches()) {
            throw new ConfigException(f.pathOf(key), "\"" + name + "\" (expected: a cookie name, letters, digits and !#$%&'*+.^_`|~-)");
        }
        return name;
    }

    private static String attribute(JsonFields f, String key, String fallback) {
        String v = f.string(key, fallback);
        if (v != null && !ATTRIBUTE.matcher(v).matches()) {
            throw new ConfigException(f.pathOf(key), "\"" + v + "\" (expected: visible ASCII without ';' or spaces)");
        }
        return v;
    }
}
