package io.upstreamproxy.e2e;

import io.upstreamproxy.testing.Prerequisite;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CI version of {@code bench/attack.sh}: the packaged jar, started with the README's
 * production flags, under a small slowhttptest slow-read and slow-body attack at once (a few
 * hundred connections, about 15 s), while a monitor sends normal requests. At least 95% of them
 * must be served during the attack, all of them after it, and no server may be counted failed.
 */
class AttackShortIT {
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/");
    private static final int SECONDS = 15;
    private static final HttpClient MONITOR = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    Path dir;
    private final List<Process> processes = new ArrayList<>();
    private Backend backend;

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (backend != null) {
            backend.close();
        }
    }

    @Test
    void normalRequestsAreServedDuringAndAfterSlowClientAttacks() throws Exception {
        requireSlowhttptest();
        backend = Backend.start("b");
        backend.responseBody = "p".repeat(64 << 10).getBytes(StandardCharsets.US_ASCII);
        Path config = dir.resolve("proxy.json");
        Files.writeString(config, ("{'listen': {'host': '127.0.0.1', 'port': 0}, 'upstreams': {'web': {'servers': [{'server': '" + backend.address()
                + "', 'max_fails': 1, 'fail_timeout': '60s'}]}}}").replace('\'', '"'));
        List<String> out = new CopyOnWriteArrayList<>();
        Process proxy = start(out, java(), "-XX:+UseParallelGC", "-Xms256m", "-Xmx256m", "-XX:+ExitOnOutOfMemoryError", "-jar",
                System.getProperty("upstream-proxy.jar", "target/upstream-proxy.jar"), "--config", config.toString(), "--no-access-log");
        int port = port(out, proxy);
        String base = "http://127.0.0.1:" + port;

        Process slowRead = start(new CopyOnWriteArrayList<>(), "slowhttptest", "-X", "-c", "300", "-r", "100", "-w", "32", "-y", "64", "-n", "5", "-z", "32",
                "-k", "3", "-l", String.valueOf(SECONDS), "-p", "5", "-u", base + "/page");
        Process slowBody = start(new CopyOnWriteArrayList<>(), "slowhttptest", "-B", "-c", "300", "-r", "100", "-i", "10", "-s", "16384",
                "-l", String.valueOf(SECONDS), "-p", "5", "-u", base + "/upload");
        int ok = 0;
        int sent = 0;
        while (slowRead.isAlive() || slowBody.isAlive()) {
            sent++;
            ok += served(base + "/") ? 1 : 0;
            Thread.sleep(100); // the monitor's pace
            if (sent > SECONDS * 30) {
                fail("the attack tools did not stop within their time");
            }
        }
        assertTrue(proxy.isAlive(), "the proxy is still running");
        assertTrue(sent >= 20, "the monitor sent " + sent + " requests during the attack");
        assertTrue(ok * 100 >= sent * 95, "served " + ok + " of " + sent + " normal requests during the attack; failures: "
                + failures.subList(0, Math.min(5, failures.size())));
        for (int i = 0; i < 20; i++) {
            assertTrue(served(base + "/"), "request " + i + " after the attack");
        }
        JsonObject server = JsonParser.parseString(Http.get(base + "/api/upstreams/web/servers/0").body()).getAsJsonObject();
        assertEquals(0, server.get("fails").getAsInt(), server.toString());
        assertEquals("up", server.get("state").getAsString(), server.toString());
    }

    private final List<String> failures = new CopyOnWriteArrayList<>();

    private boolean served(String url) {
        try {
            HttpResponse<String> r = MONITOR.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                failures.add(r.statusCode() + " " + r.body().trim());
            }
            return r.statusCode() == 200;
        } catch (IOException e) {
            failures.add(e.toString());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void requireSlowhttptest() {
        Prerequisite.require(Prerequisite.onPath("slowhttptest"), "slowhttptest", "apt-get install slowhttptest (.ci/run does)");
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private Process start(List<String> out, String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        processes.add(p);
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    out.add(l);
                }
            } catch (IOException e) {
                // the process ended
            }
        });
        t.setDaemon(true);
        t.start();
        return p;
    }

    private static int port(List<String> out, Process p) throws InterruptedException {
        Http.await("the listening line", Duration.ofSeconds(30), () -> out.stream().anyMatch(l -> LISTENING.matcher(l).find()) || !p.isAlive());
        for (String l : out) {
            Matcher m = LISTENING.matcher(l);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("no listening line: " + out);
    }
}
