package io.upstreamproxy.health;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The hand-written grpc.health.v1 messages of the {@code grpc} check. */
class GrpcProbeTest {
    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }

    @Test
    void writesTheServiceNameAsFieldOneInAGrpcFrame() {
        assertArrayEquals(new byte[] {0, 0, 0, 0, 5, 0x0a, 3, 'a', 'p', 'i'}, bytes(GrpcProbe.message("api")));
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0}, bytes(GrpcProbe.message("")), "the whole server: an empty message");
        byte[] longName = bytes(GrpcProbe.message("s".repeat(200)));
        assertEquals((byte) 0xc8, longName[6], "200 as a varint: c8 01");
        assertEquals(1, longName[7]);
    }

    @Test
    void readsTheStatusOfTheAnswer() {
        assertEquals(1, GrpcProbe.status(new byte[] {0, 0, 0, 0, 2, 0x08, 1}));
        assertEquals(2, GrpcProbe.status(new byte[] {0, 0, 0, 0, 2, 0x08, 2}));
        assertEquals(0, GrpcProbe.status(new byte[] {0, 0, 0, 0, 0}), "an empty message is UNKNOWN");
        assertEquals(-1, GrpcProbe.status(new byte[] {1, 0, 0, 0, 2, 0x08, 1}), "compressed: not read");
        assertEquals(-1, GrpcProbe.status(new byte[] {0, 0, 0, 0, 3, 0x08, 1}), "length mismatch");
        assertEquals(-1, GrpcProbe.status(new byte[] {0, 0}));
    }
}
