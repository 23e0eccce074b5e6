package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.eclipse.jetty.http.HttpFields;
import org.junit.jupiter.api.Test;

/** gRPC's words for the proxy's answers, and its deadline header. */
class GrpcTest {
    private static long timeout(String value) {
        return Grpc.timeoutMillis(HttpFields.build().put("grpc-timeout", value));
    }

    @Test
    void readsGrpcTimeoutInEveryUnit() {
        assertEquals(100, timeout("100m"));
        assertEquals(2000, timeout("2S"));
        assertEquals(3_600_000, timeout("1H"));
        assertEquals(120_000, timeout("2M"));
        assertEquals(1, timeout("500u"), "under a millisecond rounds up to one");
        assertEquals(5, timeout("5000000n"));
        assertEquals(-1, timeout("5x"));
        assertEquals(-1, timeout("m"));
        assertEquals(-1, timeout("1234567890S"), "at most 8 digits");
        assertEquals(-1, Grpc.timeoutMillis(HttpFields.EMPTY));
    }

    @Test
    void mapsTheProxysStatusesToGrpcCodes() {
        assertEquals(14, Grpc.status(503));
        assertEquals(14, Grpc.status(502));
        assertEquals(4, Grpc.status(504));
        assertEquals(12, Grpc.status(404));
        assertEquals(8, Grpc.status(413));
        assertEquals(2, Grpc.status(500));
    }

    @Test
    void knowsAGrpcRequestByItsContentType() {
        assertTrue(Grpc.is(HttpFields.build().put("content-type", "application/grpc")));
        assertTrue(Grpc.is(HttpFields.build().put("content-type", "application/grpc+proto")));
        assertFalse(Grpc.is(HttpFields.build().put("content-type", "application/json")));
        assertFalse(Grpc.is(HttpFields.EMPTY));
    }

    @Test
    void percentEncodesTheMessage() {
        assertEquals("a%25b %C3%A9", Grpc.percentEncode("a%b é"));
        assertEquals("upstream \"grpc\" has no eligible server", Grpc.message("{\"error\": {\"status\": 503, \"code\": \"NoEligibleServer\", \"text\": \"upstream \\\"grpc\\\" has no eligible server\"}}"));
    }
}
