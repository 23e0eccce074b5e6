package io.upstreamproxy.access;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;

/**
 * Checks the {@code Authorization} header against {@code api.token}: {@code Bearer <token>},
 * or, so that a browser can open the status page, {@code Basic} with the token as password
 * (any user name). Both sides are hashed and compared with {@link MessageDigest#isEqual}, which
 * takes the same time wherever they differ, and hashing hides the token's length.
 */
public final class BearerToken {
    private final byte[] expected;

    public BearerToken(String token) {
        this.expected = sha256(token);
    }

    /** What the header says: no usable credentials, a wrong token, or the right one. */
    public enum Verdict { MISSING, WRONG, OK }

    public Verdict check(String authorization) {
        String presented = presented(authorization);
        if (presented == null) {
            return Verdict.MISSING;
        }
        return MessageDigest.isEqual(expected, sha256(presented)) ? Verdict.OK : Verdict.WRONG;
    }

    private static String presented(String header) {
        if (header == null) {
            return null;
        }
        String h = header.trim();
        int space = h.indexOf(' ');
        if (space < 0) {
            return null;
        }
        String scheme = h.substring(0, space).toLowerCase(Locale.ROOT);
        String value = h.substring(space + 1).trim();
        if (scheme.equals("bearer")) {
            return value;
        }
        if (scheme.equals("basic")) {
            try {
                String pair = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
                int colon = pair.indexOf(':');
                return colon < 0 ? null : pair.substring(colon + 1);
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        return null;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
