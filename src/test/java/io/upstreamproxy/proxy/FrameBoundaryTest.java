package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** Frame boundaries in a relayed WebSocket stream, whatever the chunks the bytes come in. */
class FrameBoundaryTest {

    /** A frame with {@code payload} bytes: the 7-bit, 16-bit and 64-bit length forms, masked or not. */
    private static byte[] frame(int payload, boolean masked) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x82);
        int mask = masked ? 0x80 : 0;
        if (payload < 126) {
            b.write(mask | payload);
        } else if (payload < 65536) {
            b.write(mask | 126);
            b.write(payload >> 8);
            b.write(payload);
        } else {
            b.write(mask | 127);
            for (int i = 7; i >= 0; i--) {
                b.write((int) ((long) payload >> (8 * i)));
            }
        }
        if (masked) {
            b.writeBytes(new byte[] {9, 8, 7, 6});
        }
        b.writeBytes(new byte[payload]);
        return b.toByteArray();
    }

    @Test
    void followsFramesOfEveryLengthFormSplitAtEveryByte() {
        for (int payload : new int[] {0, 1, 125, 126, 65535, 65536}) {
            for (boolean masked : new boolean[] {false, true}) {
                byte[] f = frame(payload, masked);
                for (int split : new int[] {1, 2, 3, 5, f.length / 2, f.length - 1}) {
                    FrameBoundary b = new FrameBoundary();
                    ByteBuffer first = ByteBuffer.wrap(f, 0, Math.min(split, f.length));
                    b.pass(first);
                    assertEquals(0, first.position(), "the position is left alone");
                    if (split < f.length) {
                        assertFalse(b.atBoundary(), "inside a " + payload + "-byte frame after " + split + " bytes");
                        b.pass(ByteBuffer.wrap(f, split, f.length - split));
                    }
                    assertTrue(b.atBoundary(), "after a whole " + payload + "-byte frame, masked " + masked + ", split at " + split);
                }
            }
        }
    }

    @Test
    void severalFramesInOneChunkEndAtABoundary() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(frame(3, true));
        b.writeBytes(frame(200, false));
        b.writeBytes(frame(0, true));
        FrameBoundary f = new FrameBoundary();
        f.pass(ByteBuffer.wrap(b.toByteArray()));
        assertTrue(f.atBoundary());
        f.pass(ByteBuffer.wrap(frame(10, false), 0, 4));
        assertFalse(f.atBoundary());
    }

    @Test
    void theGoingAwayFramesAreCloseFramesWithStatus1001() {
        ByteBuffer toClient = FrameBoundary.goingAway(false);
        assertEquals("88 02 03 e9", java.util.HexFormat.ofDelimiter(" ").formatHex(toClient.array()));
        byte[] toServer = FrameBoundary.goingAway(true).array();
        assertEquals((byte) 0x88, toServer[0]);
        assertEquals((byte) 0x82, toServer[1], "masked, two bytes of payload");
        assertEquals(0x03, (toServer[6] ^ toServer[2]) & 0xff);
        assertEquals(0xE9, (toServer[7] ^ toServer[3]) & 0xff);
    }
}
