package io.upstreamproxy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jar's logs as an operator reads them: start and stop lines, failures and retries, the access-log file and SIGUSR1. */
class LoggingCliIT {
    private static final Pattern ISO_LINE = Pattern.compile("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z (INFO|WARN|ERROR|DEBUG) ");
    private static final Pattern STARTED = Pattern.compile("upstream-proxy started: listening on 127\\.0\\.0\\.1:(\\d+); ");

    @TempDir
    Path dir;
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Starts the jar; its stderr goes to {@code stderr} (a file: nothing is lost when the process halts). */
    private Process start(Path stderr, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                System.getProperty("upstream-proxy.jar", "target/upstream-proxy.jar")));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile()).start();
        processes.add(p);
        return p;
    }

    private static String line(Path log, String containing) throws InterruptedException {
        try {
            Http.await("a log line containing \"" + containing + "\"", Duration.ofSeconds(30),
                    () -> lines(log).stream().anyMatch(l -> l.contains(containing)));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + " in " + lines(log), e);
        }
        return lines(log).stream().filter(l -> l.contains(containing)).findFirst().orElseThrow();
    }

    private static List<String> lines(Path f) {
        try {
            return Files.readAllLines(f);
        } catch (IOException e) {
            return List.of();
        }
    }

    @Test
    void logsStartFailuresRetriesOperatorChangesAccessLinesAndStopAndReopensTheFileOnSigusr1() throws Exception {
        try (Backend ok = Backend.start("ok")) {
            int dead = Backend.deadPort();
            Path config = dir.resolve("proxy.json");
            Files.writeString(config, ("{'listen': {'host': '127.0.0.1', 'port': 0}, 'access_log': {'file': 'logs/access.log'},"
                    + " 'upstreams': {'b': {'servers': [{'server': '127.0.0.1:" + dead + "'}, {'server': '" + ok.address() + "'}]}}}")
                    .replace('\'', '"'));
            Path err = dir.resolve("stderr.log");
            Process p = start(err, "--config", config.toString());

            String started = line(err, "upstream-proxy started: ");
            Matcher m = STARTED.matcher(started);
            assertTrue(m.find(), started);
            String base = "http://127.0.0.1:" + m.group(1);
            assertTrue(ISO_LINE.matcher(started).find(), "ISO-8601 UTC stamp: " + started);
            assertTrue(started.contains("upstreams b (2 server(s), round-robin); state not kept (no state.file); status " + base
                    + "/status/; metrics " + base + "/metrics; api " + base + "/api/upstreams"), started);

            assertEquals(200, Http.send(HttpRequest.newBuilder(URI.create(base + "/page")).header("User-Agent", "it/1.0")
                    .header("Referer", "http://example.com/")).statusCode());
            String failed = line(err, "failed: connect failed: Connection refused");
            assertTrue(failed.matches(".*WARN .*b: server 0 \\(127\\.0\\.0\\.1:" + dead + "\\) failed: connect failed: Connection refused \\(max_fails 1\\)"), failed);
            assertTrue(line(err, "left rotation").contains("INFO "));
            String retried = line(err, "retried on");
            assertTrue(retried.contains("WARN ") && retried.contains("b: GET /page retried on server 1 (" + ok.address()
                    + ") after server 0 (127.0.0.1:" + dead + ") failed: connect failed: Connection refused"), retried);

            Path file = dir.resolve("logs/access.log");
            Http.await("the access line in " + file, Duration.ofSeconds(10), () -> !lines(file).isEmpty());
            String access = lines(file).get(0);
            assertTrue(access.matches("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z 127\\.0\\.0\\.1 \"GET /page\" 200 b " + ok.address()
                    + " \\d+ms 2 \"http://example.com/\" \"it/1.0\" request_id=[0-9a-f]{32} retried: 127\\.0\\.0\\.1:" + dead + " 502 \\(connect failed: Connection refused\\)$"), access);
            assertFalse(lines(err).stream().anyMatch(l -> l.contains("\"GET /page\"")), "the access log went to its file, not stderr");

            assertEquals(200, Http.send("PATCH", base + "/api/upstreams/b/servers/0", "application/json", "{\"drain\": true, \"weight\": 3}").statusCode());
            line(err, "drain server 0 (127.0.0.1:" + dead + ") of b, set weight 3 by 127.0.0.1");

            Files.move(file, dir.resolve("logs/access.log.1"));
            new ProcessBuilder("kill", "-USR1", String.valueOf(p.pid())).start().waitFor(10, TimeUnit.SECONDS);
            line(err, "SIGUSR1: reopening the access log");
            assertEquals(200, Http.get(base + "/after").statusCode());
            Http.await("a fresh " + file, Duration.ofSeconds(10), () -> lines(file).stream().anyMatch(l -> l.contains("/after")));
            assertEquals(1, lines(dir.resolve("logs/access.log.1")).size(), "the moved file got nothing more");

            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
            assertTrue(line(err, "upstream-proxy stopping: ").contains("0 request(s) in flight"));
            assertTrue(line(err, "upstream-proxy stopped: drained in ").matches(".*drained in \\d+ ms, 0 request\\(s\\) cut off"), err.toString());
        }
    }

    @Test
    void logLevelFlagQuietsInfoAndRefusesUnknownLevels() throws Exception {
        try (Backend ok = Backend.start("ok")) {
            Path config = dir.resolve("proxy.json");
            Files.writeString(config, ("{'listen': {'host': '127.0.0.1', 'port': 0}, 'log': {'level': 'debug'},"
                    + " 'upstreams': {'b': {'servers': [{'server': '" + ok.address() + "'}]}}}").replace('\'', '"'));
            Path bad = dir.resolve("bad.log");
            Process refused = start(bad, "--config", config.toString(), "--log-level", "loud");
            assertTrue(refused.waitFor(30, TimeUnit.SECONDS));
            assertEquals(2, refused.exitValue());
            line(bad, "upstream-proxy: --log-level: \"loud\" (expected one of: trace, debug, info, warn, error, off)");

            Path err = dir.resolve("quiet.log");
            Process quiet = start(err, "--config", config.toString(), "--log-level", "warn", "--no-access-log");
            line(err, "no state.file in the config"); // a WARN still shows, and marks the end of start-up logging
            quiet.destroy();
            assertTrue(quiet.waitFor(30, TimeUnit.SECONDS));
            assertFalse(lines(err).stream().anyMatch(l -> l.contains(" INFO ")), "--log-level warn wins over log.level debug: " + lines(err));
        }
    }
}
