package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A route's {@code timeouts.connect} and {@code timeouts.send} (SPEC §12), each shorter than the
 * proxy-wide value the other routes keep, against servers that never accept and never read.
 */
class RouteTimeoutsTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private <T extends AutoCloseable> T keep(T c) {
        open.add(c);
        return c;
    }

    /**
     * A listener whose accept queue is full: it never accepts, so the kernel drops new SYNs and
     * a connect to it hangs until someone's timeout ends it.
     */
    private int silentPort() throws IOException {
        ServerSocket s = keep(new ServerSocket());
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
        for (int i = 0; i < 4; i++) {
            Socket filler = keep(new Socket());
            try {
                filler.connect(s.getLocalSocketAddress(), 300);
            } catch (IOException full) {
                break; // the queue is full: this one hung
            }
        }
        return s.getLocalPort();
    }

    @Test
    void aRoutesConnectTimeoutEndsItsConnectsBeforeTheProxysOwn() throws Exception {
        Backend app = keep(Backend.start("app"));
        int silent = silentPort();
        RunningProxy p = keep(RunningProxy.start(("{'upstreams': {'slow': {'retries': 0, 'servers': [{'server': '127.0.0.1:" + silent + "'}]},"
                + " 'app': {'servers': [{'server': '" + app.address() + "'}]}},"
                + " 'routes': [{'path': '/slow/', 'upstream': 'slow', 'timeouts': {'connect': '300ms'}}, {'path': '/', 'upstream': 'app'}],"
                + " 'proxy': {'connect_timeout': '20s'}}").replace('\'', '"')));
        long start = System.nanoTime();
        RawHttp.Reply r;
        try (RawHttp c = RawHttp.connect(p.port())) {
            c.timeout(15_000);
            r = c.send("GET /slow/x HTTP/1.1\r\nHost: localhost\r\n\r\n").read();
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(502, r.status(), r.body());
        assertTrue(r.body().contains("timeouts.connect"), r.body());
        assertTrue(millis < 10_000, "ended by the route's 300 ms, not the proxy's 20 s: " + millis + " ms");
        assertEquals("app", p.get("/other").body(), "the other routes are served meanwhile");
    }

    /** The head and the Content-Length body of one answer (or what came before the connection closed). */
    private static String readAnswer(Socket client) throws IOException {
        StringBuilder text = new StringBuilder();
        var in = client.getInputStream();
        int b;
        while ((b = in.read()) >= 0) {
            text.append((char) b);
            int end = text.indexOf("\r\n\r\n");
            if (end >= 0) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(text);
                int body = m.find() ? Integer.parseInt(m.group(1)) : 0;
                if (text.length() >= end + 4 + body) {
                    break;
                }
            }
        }
        return text.toString();
    }

    @Test
    void aRoutesSendTimeoutEndsAnUploadTheServerNeverReads() throws Exception {
        try (ServerSocket deaf = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<Socket> accepted = new ArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        accepted.add(deaf.accept()); // accepted, never read
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            RunningProxy p = keep(RunningProxy.start(("{'upstreams': {'deaf': {'retries': 0, 'servers': [{'server': '127.0.0.1:" + deaf.getLocalPort() + "'}]}},"
                    + " 'routes': [{'path': '/', 'upstream': 'deaf', 'timeouts': {'send': '500ms', 'read': '30s'}}]}").replace('\'', '"')));
            long length = 256L << 20;
            long start = System.nanoTime();
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), p.port())) {
                client.setSoTimeout(20_000);
                Thread upload = new Thread(() -> {
                    try {
                        OutputStream out = client.getOutputStream();
                        out.write(("POST /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                        byte[] chunk = new byte[64 << 10];
                        for (long sent = 0; sent < length; sent += chunk.length) {
                            out.write(chunk);
                        }
                    } catch (IOException cut) {
                        // the proxy answered and closed while the body still came
                    }
                });
                upload.setDaemon(true);
                upload.start();
                String answer = readAnswer(client);
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertTrue(answer.startsWith("HTTP/1.1 504"), answer);
                assertTrue(answer.contains("timeouts.send"), answer);
                assertTrue(millis < 15_000, "ended by the route's send timeout, not its 30 s read timeout: " + millis + " ms");
            } finally {
                for (Socket s : accepted) {
                    s.close();
                }
            }
        }
    }
}
