package io.upstreamproxy.e2e;

import io.upstreamproxy.testing.Prerequisite;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus (the Debian package's binary, on a free loopback port, with its own config
 * and storage in a temp dir) scrapes the real proxy, and its HTTP API answers our counter.
 */
class PrometheusScrapeIT {
    @TempDir
    Path dir;

    @Test
    void prometheusScrapesTheProxyAndQueriesItsCounter() throws Exception {
        try (Backend a = Backend.start("a");
             RunningProxy p = RunningProxy.start("{\"upstreams\": {\"web\": {\"servers\": [{\"server\": \"" + a.address() + "\"}]}}}")) {
            for (int i = 0; i < 5; i++) {
                assertEquals(200, p.get("/").statusCode());
            }
            int port = freePort();
            Path config = dir.resolve("prometheus.yml");
            Files.writeString(config, String.join("\n",
                    "global:",
                    "  scrape_interval: 1s",
                    "  scrape_timeout: 1s",
                    "scrape_configs:",
                    "  - job_name: upstream-proxy",
                    "    metrics_path: /metrics",
                    "    static_configs:",
                    "      - targets: ['127.0.0.1:" + p.port() + "']",
                    ""));
            Process prometheus;
            try {
                prometheus = new ProcessBuilder("prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir.resolve("data"),
                        "--web.listen-address=127.0.0.1:" + port, "--log.level=warn")
                        .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
            } catch (IOException e) {
                Prerequisite.missing("prometheus is not installed (" + e.getMessage() + "): apt-get install prometheus (.ci/run does)");
                return;
            }
            try {
                String query = URLEncoder.encode("upstream_proxy_requests_total{code=\"2xx\",upstream=\"web\"}", StandardCharsets.UTF_8);
                String url = "http://127.0.0.1:" + port + "/api/v1/query?query=" + query;
                AtomicReference<String> last = new AtomicReference<>("(no answer yet)");
                try {
                    Http.await("Prometheus to have scraped 5 requests", Duration.ofSeconds(60), () -> {
                    try {
                        String body = Http.get(url).body();
                        last.set(body);
                        JsonArray result = JsonParser.parseString(body).getAsJsonObject().getAsJsonObject("data").getAsJsonArray("result");
                        return result.size() == 1 && result.get(0).getAsJsonObject().getAsJsonArray("value").get(1).getAsString().equals("5");
                    } catch (IOException | RuntimeException e) {
                        last.set(e.toString()); // not up yet
                        return false;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                    });
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; Prometheus's last answer: " + last.get(), e);
                }
                JsonObject sample = JsonParser.parseString(last.get()).getAsJsonObject().getAsJsonObject("data")
                        .getAsJsonArray("result").get(0).getAsJsonObject().getAsJsonObject("metric");
                assertEquals(a.address(), sample.get("server").getAsString());
                assertEquals("upstream-proxy", sample.get("job").getAsString());
            } finally {
                prometheus.destroy();
                if (!prometheus.waitFor(20, TimeUnit.SECONDS)) {
                    prometheus.destroyForcibly();
                }
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
