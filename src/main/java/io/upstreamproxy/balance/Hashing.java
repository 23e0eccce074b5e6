package io.upstreamproxy.balance;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The hash functions of the hashing balancers. Both are fixed algorithms, never
 * {@code Object.hashCode}, so a key maps to the same server after a restart and on every
 * proxy of a fleet that shares the server list.
 */
final class Hashing {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private Hashing() {}

    /**
     * A request key's hash: 64-bit FNV-1a over the UTF-16 chars (no allocation, a few ns for
     * a typical header value), then MurmurHash3's finalizer, because FNV alone leaves keys
     * that differ in the last character close together, and the ring needs them spread.
     */
    static long hash(CharSequence s) {
        long h = FNV_OFFSET;
        for (int i = 0; i < s.length(); i++) {
            h = (h ^ s.charAt(i)) * FNV_PRIME;
        }
        return mix(h);
    }

    /** MurmurHash3's 64-bit finalizer: every input bit affects every output bit. */
    static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /**
     * Ring points as ketama places them: MD5 of {@code "key-i"} for i = 0, 1, ..., each digest
     * giving four little-endian 32-bit points. Costly (one digest per four points), but only
     * when the server list changes.
     */
    static int[] ketamaPoints(String key, int count) {
        MessageDigest md5 = md5();
        int[] points = new int[count];
        for (int i = 0; i * 4 < count; i++) {
            byte[] d = md5.digest((key + "-" + i).getBytes(StandardCharsets.UTF_8));
            for (int j = 0; j < 4 && i * 4 + j < count; j++) {
                points[i * 4 + j] = (d[j * 4 + 3] & 0xff) << 24 | (d[j * 4 + 2] & 0xff) << 16
                        | (d[j * 4 + 1] & 0xff) << 8 | (d[j * 4] & 0xff);
            }
        }
        return points;
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has MD5", e);
        }
    }
}
