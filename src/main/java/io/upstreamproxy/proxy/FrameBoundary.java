package io.upstreamproxy.proxy;

import java.nio.ByteBuffer;

/**
 * Where a relayed stream of WebSocket frames stands (RFC 6455 §5.2): at the start of a frame, or
 * inside one. The relay passes bytes through untouched; this only follows the frame headers, so
 * that a close frame of our own (a graceful stop) goes in between two frames, never into one.
 */
final class FrameBoundary {
    private final byte[] head = new byte[14];
    private int headLength;   // header bytes of the current frame seen so far
    private long payloadLeft; // payload bytes of the current frame still to pass

    /** Follows {@code bytes}, which are about to be relayed; their position is left alone. */
    void pass(ByteBuffer bytes) {
        int i = bytes.position();
        int end = bytes.limit();
        while (i < end) {
            if (payloadLeft > 0) {
                int skip = (int) Math.min(payloadLeft, end - i);
                i += skip;
                payloadLeft -= skip;
                continue;
            }
            head[headLength++] = bytes.get(i++);
            if (headLength == headerLength()) {
                payloadLeft = payloadLength();
                headLength = 0;
            }
        }
    }

    /** Between two frames: a frame of our own may go next. */
    boolean atBoundary() {
        return headLength == 0 && payloadLeft == 0;
    }

    private int headerLength() {
        if (headLength < 2) {
            return 2;
        }
        int len7 = head[1] & 0x7f;
        return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((head[1] & 0x80) != 0 ? 4 : 0);
    }

    private long payloadLength() {
        int len7 = head[1] & 0x7f;
        if (len7 < 126) {
            return len7;
        }
        int bytes = len7 == 126 ? 2 : 8;
        long n = 0;
        for (int i = 0; i < bytes; i++) {
            n = (n << 8) | (head[2 + i] & 0xff);
        }
        return n;
    }

    /** A close frame with status 1001 (going away), masked when it goes to a server (a client's frames are). */
    static ByteBuffer goingAway(boolean toServer) {
        if (!toServer) {
            return ByteBuffer.wrap(new byte[] {(byte) 0x88, 2, 0x03, (byte) 0xE9});
        }
        byte[] mask = new byte[4];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(mask);
        return ByteBuffer.wrap(new byte[] {(byte) 0x88, (byte) 0x82, mask[0], mask[1], mask[2], mask[3],
                (byte) (0x03 ^ mask[0]), (byte) (0xE9 ^ mask[1])});
    }
}
