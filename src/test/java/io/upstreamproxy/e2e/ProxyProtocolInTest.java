package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RawHttp;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code listen.proxy_protocol}: a balancer's PROXY header (v1 and v2) from a trusted address
 * makes the address it carries the client's, for the server ({@code X-Forwarded-For}), the
 * access log and the API's allow rules; from an untrusted address, or malformed, or missing,
 * the connection is closed and the claimed address is seen nowhere.
 */
class ProxyProtocolInTest {
    private static final String CLAIMED = "203.0.113.7";
    @TempDir
    Path dir;
    private Backend backend;
    private Main main;

    @AfterEach
    void close() throws Exception {
        if (main != null) {
            main.stop();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private void start(String trusted) throws Exception {
        backend = Backend.start("b");
        main = Main.start(ConfigLoader.parse(("{'listen': {'host': '127.0.0.1', 'port': 0, 'proxy_protocol': {'trusted': [" + trusted + "]}},"
                + " 'upstreams': {'web': {'servers': [{'server': '" + backend.address() + "'}]}},"
                + " 'api': {'allow': ['" + CLAIMED + "'], 'deny': ['all']}, 'access_log': {'file': 'access.log'}}").replace('\'', '"'),
                dir.resolve("c.json")), false, true);
    }

    private static byte[] v1(String source) {
        return ("PROXY TCP4 " + source + " 127.0.0.1 40000 8080\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A v2 header, PROXY command, TCP over IPv4: signature, version and command, family, length, addresses, ports. */
    private static byte[] v2(byte[] source) {
        ByteBuffer b = ByteBuffer.allocate(16 + 12);
        b.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        b.put((byte) 0x21).put((byte) 0x11).putShort((short) 12);
        b.put(source).put(new byte[] {127, 0, 0, 1}).putShort((short) 40000).putShort((short) 8080);
        return b.array();
    }

    private static byte[] then(byte[] header, String request) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header);
        out.writeBytes(request.getBytes(StandardCharsets.ISO_8859_1));
        return out.toByteArray();
    }

    private static final String GET = "GET /where HTTP/1.1\r\nHost: app\r\n\r\n";

    private RawHttp.Reply exchange(byte[] bytes) throws Exception {
        try (RawHttp c = RawHttp.connect(main.port())) {
            return c.send(bytes).read();
        }
    }

    private boolean closedWithoutAnswer(byte[] bytes) throws Exception {
        try (RawHttp c = RawHttp.connect(main.port())) {
            c.timeout(5_000);
            try {
                c.send(bytes);
            } catch (java.io.IOException e) {
                return true; // reset while writing: closed as well
            }
            return c.closedByPeer();
        }
    }

    private String accessLogOnceItHas(String text) throws Exception {
        Path log = dir.resolve("access.log");
        long deadline = System.nanoTime() + 10_000_000_000L;
        String seen = "";
        while (!seen.contains(text) && System.nanoTime() < deadline) {
            seen = Files.exists(log) ? Files.readString(log) : "";
            Thread.onSpinWait();
        }
        return seen;
    }

    @Test
    void v1FromATrustedPeerMakesTheCarriedAddressTheClient() throws Exception {
        start("'127.0.0.0/8'");
        assertEquals(200, exchange(then(v1(CLAIMED), GET)).status());
        assertEquals(CLAIMED, backend.seen.get(0).headers().get("x-forwarded-for"));
        assertTrue(backend.seen.get(0).headers().get("forwarded").contains("for=\"" + CLAIMED + "\""), backend.seen.get(0).headers()::toString);
        String log = accessLogOnceItHas("/where");
        assertTrue(log.contains("Z " + CLAIMED + " \"GET /where\""), log); // time, then the client
    }

    @Test
    void v2FromATrustedPeerMakesTheCarriedAddressTheClientForTheApiToo() throws Exception {
        start("'::1', '127.0.0.1'");
        assertEquals(200, exchange(then(v2(new byte[] {(byte) 203, 0, 113, 7}), GET)).status());
        assertEquals(CLAIMED, backend.seen.get(0).headers().get("x-forwarded-for"));
        // the API allows the carried address only: the peer itself (127.0.0.1) would be refused
        assertEquals(200, exchange(then(v2(new byte[] {(byte) 203, 0, 113, 7}), "GET /api/upstreams HTTP/1.1\r\nHost: app\r\n\r\n")).status());
        assertEquals(403, exchange(then(v2(new byte[] {(byte) 198, 51, 100, 1}), "GET /api/upstreams HTTP/1.1\r\nHost: app\r\n\r\n")).status());
    }

    @Test
    void keepsTheCarriedAddressForEveryRequestOfTheConnection() throws Exception {
        start("'127.0.0.1'");
        try (RawHttp c = RawHttp.connect(main.port())) {
            assertEquals(200, c.send(then(v1(CLAIMED), GET)).read().status());
            assertEquals(200, c.send(GET).read().status());
        }
        assertEquals(2, backend.seen.size());
        assertEquals(CLAIMED, backend.seen.get(1).headers().get("x-forwarded-for"));
    }

    @Test
    void closesAnUntrustedPeerAndTheClaimedAddressAppearsNowhere() throws Exception {
        start("'10.0.0.0/8'");
        assertTrue(closedWithoutAnswer(then(v1(CLAIMED), GET)));
        assertTrue(closedWithoutAnswer(then(v2(new byte[] {(byte) 203, 0, 113, 7}), GET)));
        assertEquals(0, backend.hits.get());
        // a request that does reach the log afterwards (the API, refused: the peer is not trusted to speak for anyone)
        assertTrue(closedWithoutAnswer(GET.getBytes(StandardCharsets.ISO_8859_1)));
        assertFalse(Files.exists(dir.resolve("access.log")) && Files.readString(dir.resolve("access.log")).contains(CLAIMED));
    }

    @Test
    void closesATrustedPeerWhoseHeaderIsMalformedOrMissing() throws Exception {
        start("'127.0.0.1'");
        assertTrue(closedWithoutAnswer(then("PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n".getBytes(StandardCharsets.ISO_8859_1), GET)));
        assertTrue(closedWithoutAnswer(then("PROXY TCP4 localhost 127.0.0.1 1 2\r\n".getBytes(StandardCharsets.ISO_8859_1), GET)), "a name, not an address");
        assertTrue(closedWithoutAnswer(then("PROXY TCP4 203.0.113.7 127.0.0.1 x 2\r\n".getBytes(StandardCharsets.ISO_8859_1), GET)));
        assertTrue(closedWithoutAnswer(GET.getBytes(StandardCharsets.ISO_8859_1)), "no header where one must be");
        byte[] badSignature = v2(new byte[] {(byte) 203, 0, 113, 7});
        badSignature[5] = 0x0E;
        assertTrue(closedWithoutAnswer(then(badSignature, GET)));
        assertEquals(0, backend.hits.get());
    }
}
