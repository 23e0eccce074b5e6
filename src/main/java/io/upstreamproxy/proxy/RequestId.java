package io.upstreamproxy.proxy;

import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code X-Request-Id} (SPEC §12): the client's when it is a plausible id (1 to 128 of
 * letters, digits and {@code - _ . : + / =}, which covers UUIDs and base64), else a new one
 * of 32 hex digits. Random from ThreadLocalRandom, not SecureRandom: the id names a request
 * in logs, it guards nothing, and SecureRandom would take a lock on every request.
 */
final class RequestId {
    static final String HEADER = "X-Request-Id";
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private RequestId() {}

    static String of(String given) {
        return valid(given) ? given : generate();
    }

    static boolean valid(String id) {
        if (id == null || id.isEmpty() || id.length() > 128) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "-_.:+/=".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    static String generate() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] out = new char[32];
        long hi = r.nextLong();
        long lo = r.nextLong();
        for (int i = 0; i < 16; i++) {
            out[i] = HEX[(int) (hi >>> (60 - 4 * i)) & 0xf];
            out[16 + i] = HEX[(int) (lo >>> (60 - 4 * i)) & 0xf];
        }
        return new String(out);
    }
}
