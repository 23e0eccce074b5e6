package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.ServerLog;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A client that goes away mid-upload is logged as nginx logs it, 499, and its server is left
 * alone; the server log stays quiet, since any client can do it as often as it likes.
 */
class ClientClosedLogTest {

    @Test
    void abandonedUploadIsLoggedAs499() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.err;
        Backend b = Backend.start("b");
        Main main = null;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8)); // the access log's stream, read at start
            ProxyConfig c = ConfigLoader.parse(("{'listen': {'host': '127.0.0.1', 'port': 0}, 'upstreams': {'web': {'servers': [{'server': '"
                    + b.address() + "', 'max_fails': 1}]}}}").replace('\'', '"'), null);
            main = Main.start(c, false, true);
            try (RawHttp client = RawHttp.connect(main.port())) {
                client.send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789");
            }
            try {
                Http.await("the access log line", Duration.ofSeconds(10), () -> captured.toString(StandardCharsets.UTF_8).contains("\"POST /up\" 499 web"));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; the log: " + captured.toString(StandardCharsets.UTF_8), e);
            }
            assertEquals(0, main.registry().get("web").server(0).stats().fails());
        } finally {
            System.setErr(original);
            if (main != null) {
                main.stop();
            }
            b.close();
        }
    }

    /**
     * bench/attack.sh's abandoned uploads once wrote a WARN and a 100-line stack trace to the
     * server log for each one (Jetty's "writeError ... response cut short: 499"): 5.8 million
     * lines in 30 s, a disk any client could fill. Buffered and streamed, ten of each.
     */
    @Test
    void abandonedUploadsWriteNothingToTheServerLog() throws Exception {
        PrintStream originalErr = System.err;
        ServerLog serverLog = null;
        ByteArrayOutputStream accessLog = new ByteArrayOutputStream();
        Backend b = Backend.start("b");
        Main main = null;
        try {
            System.setErr(new PrintStream(accessLog, true, StandardCharsets.UTF_8));
            ProxyConfig c = ConfigLoader.parse(("{'listen': {'host': '127.0.0.1', 'port': 0}, 'proxy': {'buffer_body': '1k'}, 'upstreams': {'web': {'servers': [{'server': '"
                    + b.address() + "', 'max_fails': 1}]}}}").replace('\'', '"'), null);
            main = Main.start(c, false, true);
            serverLog = ServerLog.capture();
            for (int i = 0; i < 10; i++) {
                try (RawHttp client = RawHttp.connect(main.port())) {
                    client.send("POST /buffered HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789");
                }
                try (RawHttp client = RawHttp.connect(main.port())) {
                    client.send("POST /streamed HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n" + "y".repeat(2000));
                }
            }
            Http.await("20 uploads logged as 499", Duration.ofSeconds(10),
                    () -> accessLog.toString(StandardCharsets.UTF_8).split("\" 499 ", -1).length > 20);
            assertEquals(0, main.registry().get("web").server(0).stats().fails());
            assertEquals("", serverLog.text(), "the server log");
        } finally {
            if (serverLog != null) {
                serverLog.close();
            }
            System.setErr(originalErr);
            if (main != null) {
                main.stop();
            }
            b.close();
        }
    }
}
