package io.upstreamproxy.upstream;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.StickyConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * An upstream's sticky sessions (SPEC §13): which server a request is bound to, and what the
 * response tells the client. In {@code cookie} mode the client carries the server's sticky
 * value in a cookie of ours; in {@code learn} mode it carries the application's session cookie,
 * which a {@link LearnTable} maps to the server that set it.
 *
 * <p>A server's sticky value ({@link #valueOf}) is the first 16 hex digits of SHA-256 over the
 * upstream's name and the server's id: opaque (no address in it), and the same on every
 * instance and after every reload and restart, because ids are (the state file, or etcd in
 * fleet mode, keeps an address's id; without either, config order gives them).
 * Example: upstream "app", server 0 gives {@code 7b3eb0fc2d12f224}.
 */
public final class Sticky {
    private final StickyConfig config;
    private final LearnTable learned; // learn mode only

    private Sticky(StickyConfig config, LearnTable learned) {
        this.config = config;
        this.learned = learned;
    }

    /** Sticky sessions as {@code config} says; a learn table of {@code previous} is kept when its bounds did not change. */
    static Sticky of(StickyConfig config, Sticky previous, Clock clock) {
        if (!config.learns()) {
            return new Sticky(config, null);
        }
        long timeout = config.timeout().toNanos();
        LearnTable keep = previous != null && previous.learned != null && previous.config.learn().equals(config.learn())
                && previous.learned.sameBounds(timeout, config.maxEntries()) ? previous.learned : null;
        return new Sticky(config, keep != null ? keep : new LearnTable(timeout, config.maxEntries(), clock));
    }

    public StickyConfig config() {
        return config;
    }

    /** The sticky value of server {@code id} of upstream {@code upstream}. */
    public static String valueOf(String upstream, int id) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest((upstream + "\n" + id).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }

    /** The sticky value the request is bound to, or null. */
    String boundValue(RequestInfo request) {
        String cookie = request.cookie(config.requestCookie());
        if (cookie == null || cookie.isEmpty()) {
            return null;
        }
        return learned == null ? cookie : learned.get(cookie);
    }

    /** Learn mode: the client's session cookie is bound to the server that sets it; cookie mode: we set ours. */
    public boolean learns() {
        return learned != null;
    }

    /**
     * Cookie mode: our cookie's {@code Set-Cookie} value for a response from {@code server}, when
     * the client does not carry that server's already (null: nothing to add).
     */
    public String cookieFor(Server server, RequestInfo request) {
        String value = server.stickyValue();
        return value.equals(request.cookie(config.cookie())) ? null : setCookie(value);
    }

    /**
     * Learn mode: a response of {@code server} with {@code Set-Cookie: NAME=VALUE; ...} binds
     * VALUE to it. An empty VALUE (a logout) binds nothing; the old session expires.
     */
    public void learn(Server server, Iterable<String> setCookies) {
        String prefix = config.learn() + "=";
        for (String header : setCookies) {
            if (header.startsWith(prefix)) {
                int end = header.indexOf(';');
                String session = header.substring(prefix.length(), end < 0 ? header.length() : end).trim();
                if (session.isEmpty()) {
                    continue;
                }
                learned.put(session, server.stickyValue());
            }
        }
    }

    int learnedSize() {
        return learned == null ? 0 : learned.size();
    }

    private String setCookie(String value) {
        StringBuilder b = new StringBuilder(config.cookie()).append('=').append(value).append("; Path=").append(config.path());
        if (config.expires() != null) {
            b.append("; Max-Age=").append(config.expires().toSeconds());
        }
        if (config.domain() != null) {
            b.append("; Domain=").append(config.domain());
        }
        if (config.secure()) {
            b.append("; Secure");
        }
        if (config.httpOnly()) {
            b.append("; HttpOnly");
        }
        if (config.sameSite() != null) {
            b.append("; SameSite=").append(config.sameSite());
        }
        return b.toString();
    }
}
