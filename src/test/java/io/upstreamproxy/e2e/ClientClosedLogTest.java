package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RawHttp;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A client that goes away mid-upload is logged as nginx logs it, 499, and its server is left alone. */
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
}
