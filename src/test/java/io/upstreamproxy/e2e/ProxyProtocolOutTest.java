package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code send_proxy_protocol}: every connection to the servers starts with a PROXY header
 * carrying the client's address (v1 text, v2 binary with its signature checked here), health
 * checks with the LOCAL/UNKNOWN form; a connection is never shared between clients.
 */
class ProxyProtocolOutTest {
    private static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private HeaderCheckingServer server;
    private RunningProxy proxy;

    @AfterEach
    void close() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (server != null) {
            server.close();
        }
    }

    /** A server that requires a PROXY header (v1 or v2) on each connection, records what it carried, and answers 200 to every request; a bad header: closed, recorded as "bad". */
    static final class HeaderCheckingServer implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final List<String> headers = new CopyOnWriteArrayList<>();
        final String version;

        HeaderCheckingServer(String version) throws IOException {
            this.version = version;
            Thread t = new Thread(this::acceptAll, "header-checking-server");
            t.setDaemon(true);
            t.start();
        }

        String address() {
            return "127.0.0.1:" + socket.getLocalPort();
        }

        private void acceptAll() {
            while (!socket.isClosed()) {
                try {
                    Socket s = socket.accept();
                    Thread t = new Thread(() -> serve(s));
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                String header = version.equals("v2") ? readV2(in) : readLine(in);
                headers.add(header);
                if (header.equals("bad")) {
                    return;
                }
                OutputStream out = s.getOutputStream();
                while (readHead(in)) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                }
            } catch (IOException e) {
                // the proxy closed it
            }
        }

        /** "PROXY 127.0.0.1:4711 -> 127.0.0.1:80", "LOCAL", or "bad". */
        private static String readV2(DataInputStream in) throws IOException {
            byte[] sig = in.readNBytes(12);
            if (!Arrays.equals(sig, SIGNATURE)) {
                return "bad";
            }
            int command = in.readUnsignedByte();
            int family = in.readUnsignedByte();
            int length = in.readUnsignedShort();
            byte[] rest = in.readNBytes(length);
            if (command == 0x20) {
                return "LOCAL";
            }
            if (command != 0x21 || family != 0x11 || length != 12) {
                return "bad";
            }
            return "PROXY " + InetAddress.getByAddress(Arrays.copyOfRange(rest, 0, 4)).getHostAddress() + ":" + (((rest[8] & 0xff) << 8) | (rest[9] & 0xff))
                    + " -> " + InetAddress.getByAddress(Arrays.copyOfRange(rest, 4, 8)).getHostAddress() + ":" + (((rest[10] & 0xff) << 8) | (rest[11] & 0xff));
        }

        private static String readLine(InputStream in) throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                line.write(c);
            }
            String text = line.toString(StandardCharsets.ISO_8859_1).strip();
            return text.startsWith("PROXY ") ? text : "bad";
        }

        private static boolean readHead(InputStream in) throws IOException {
            int state = 0;
            int c;
            while (state < 4 && (c = in.read()) != -1) {
                state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
            }
            return state == 4;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private void start(String version, String extra) throws Exception {
        server = new HeaderCheckingServer(version);
        proxy = RunningProxy.start("{\"upstreams\": {\"web\": {\"send_proxy_protocol\": \"" + version + "\", \"servers\": [{\"server\": \""
                + server.address() + "\"}]" + extra + "}}}");
    }

    @Test
    void v2CarriesTheClientsAddressAndPortWithAValidSignature() throws Exception {
        start("v2", "");
        try (RawHttp c = RawHttp.connect(proxy.port())) {
            assertEquals(200, c.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n").read().status());
        }
        assertEquals(1, server.headers.size(), server.headers::toString);
        assertTrue(server.headers.get(0).matches("PROXY 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:" + proxy.port()), server.headers::toString);
    }

    @Test
    void v1CarriesTheClientsAddressAndPort() throws Exception {
        start("v1", "");
        int clientPort;
        try (Socket raw = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            clientPort = raw.getLocalPort();
            raw.getOutputStream().write("GET / HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertTrue(new String(raw.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200"));
        }
        assertEquals(List.of("PROXY TCP4 127.0.0.1 127.0.0.1 " + clientPort + " " + proxy.port()), server.headers);
    }

    /**
     * Two client connections, two requests each, one after the other on each: every upstream
     * connection names the client connection it serves (the jar opens one per request, the
     * servlet front end keeps one per client connection, as HAProxy's private connections).
     */
    @Test
    void aConnectionIsNeverSharedBetweenClients() throws Exception {
        start("v2", "");
        try (RawHttp a = RawHttp.connect(proxy.port()); RawHttp b = RawHttp.connect(proxy.port())) {
            for (int i = 0; i < 2; i++) {
                assertEquals(200, a.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n").read().status());
                assertEquals(200, b.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n").read().status());
            }
        }
        assertEquals(2, new java.util.HashSet<>(server.headers).size(), server.headers::toString);
        assertTrue(server.headers.size() >= 2 && server.headers.size() <= 4, server.headers::toString);
    }

    @Test
    void healthChecksSendTheLocalForm() throws Exception {
        start("v2", ", \"health_check\": {\"type\": \"http\", \"uri\": \"/health\", \"interval\": \"100ms\", \"timeout\": \"1s\", \"passes\": 1}");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!server.headers.contains("LOCAL") && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(server.headers.contains("LOCAL"), server.headers::toString);
        assertTrue(!server.headers.contains("bad"), server.headers::toString);
    }
}
