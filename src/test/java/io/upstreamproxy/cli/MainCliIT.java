package io.upstreamproxy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built jar as a user runs it: {@code java -jar target/upstream-proxy.jar ...}. */
class MainCliIT {
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/");

    @TempDir
    Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    /** A started jar with its output collected line by line. */
    private record Run(Process process, List<String> out, List<String> err) {
        int port() throws InterruptedException {
            Http.await("the listening line", Duration.ofSeconds(30), () -> out.stream().anyMatch(l -> LISTENING.matcher(l).find()) || !process.isAlive());
            for (String l : out) {
                Matcher m = LISTENING.matcher(l);
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            }
            throw new AssertionError("no listening line; stdout=" + out + " stderr=" + err);
        }
    }

    private Run run(String... args) throws IOException {
        return run(List.of(), args);
    }

    private Run run(List<String> jvmFlags, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-jar", Path.of(System.getProperty("upstream-proxy.jar", "target/upstream-proxy.jar")).toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).start();
        processes.add(p);
        List<String> out = new CopyOnWriteArrayList<>();
        List<String> err = new CopyOnWriteArrayList<>();
        pump(p.getInputStream(), out);
        pump(p.getErrorStream(), err);
        return new Run(p, out, err);
    }

    private static void pump(java.io.InputStream in, List<String> lines) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException ignored) {
                // process ended
            }
        });
        t.setDaemon(true);
        t.start();
    }

    private Path config(String json) throws IOException {
        Path f = dir.resolve("proxy.json");
        Files.writeString(f, json.replace('\'', '"'));
        return f;
    }

    @Test
    void badConfigExitsWithCode2AndOneLineNamingFileAndPath() throws Exception {
        Path f = config("{'upstreams': {'backend': {'servers': [{'server': '127.0.0.1:9001'}, {'server': '127.0.0.1:9002', 'weight': -3}]}}}");
        Run r = run("--config", f.toString());
        assertTrue(r.process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, r.process.exitValue());
        Http.await("stderr drained", Duration.ofSeconds(5), () -> !r.err.isEmpty());
        assertEquals(List.of("upstream-proxy: " + f + ": upstreams.backend.servers[1].weight: -3 (expected: 1..1000)"), r.err);
    }

    @Test
    void missingConfigAndBadArgumentsAreUserErrors() throws Exception {
        Run missing = run("--config", "nope.json");
        assertTrue(missing.process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, missing.process.exitValue());
        Run bad = run("--port", "http");
        assertTrue(bad.process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, bad.process.exitValue());
        Http.await("stderr drained", Duration.ofSeconds(5), () -> !missing.err.isEmpty() && !bad.err.isEmpty());
        assertTrue(missing.err.get(0).contains("cannot read nope.json"), missing.err.toString());
        assertTrue(bad.err.get(0).contains("--port: http (expected: 0..65535)"), bad.err.toString());
        assertFalse(String.join("\n", missing.err).contains("\tat "), "no stack trace for user errors");
    }

    @Test
    void demoStartsBackendsAndPrintsWhereToCurl() throws Exception {
        int a = Backend.deadPort();
        int b = Backend.deadPort();
        Path f = config("{'listen': {'host': '127.0.0.1', 'port': 0}, 'upstreams': {'backend': {'servers': [{'server': '127.0.0.1:" + a
                + "'}, {'server': '127.0.0.1:" + b + "'}]}}}");
        Run r = run("--config", f.toString(), "--demo");
        int port = r.port();
        Http.await("two curl lines", Duration.ofSeconds(10), () -> r.out.contains("  curl http://127.0.0.1:" + port + "/api/upstreams"));
        assertTrue(r.out.contains("  curl http://127.0.0.1:" + port + "/"), r.out.toString());
        String first = Http.get("http://127.0.0.1:" + port + "/").body();
        String second = Http.get("http://127.0.0.1:" + port + "/").body();
        assertTrue(first.startsWith("hello from demo backend 127.0.0.1:"), first);
        assertFalse(first.equals(second), "round-robin over two demo backends");
        Http.await("an access log line", Duration.ofSeconds(5), () -> r.err.stream().anyMatch(l -> l.contains("\"GET /\" 200 backend 127.0.0.1:")));
    }

    /** The README's first command, from a directory without conf/: the jar carries the shipped config. */
    @Test
    void demoRunsFromAnyDirectoryOnTheConfigTheJarCarries() throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Run r = run(List.of("-Djava.io.tmpdir=" + tmp), "--demo", "--port", "0");
        int port = r.port();
        assertTrue(Http.get("http://127.0.0.1:" + port + "/").body().startsWith("hello from demo backend 127.0.0.1:900"));
        Path written = tmp.resolve("upstream-proxy-demo/upstream-proxy.json");
        assertTrue(r.out.stream().anyMatch(l -> l.contains("(config " + written + ")")), r.out.toString());
        assertEquals(Files.readString(Path.of("conf/upstream-proxy.json")), Files.readString(written), "the shipped config, as it is in conf/");
        assertFalse(Files.exists(dir.resolve("conf")), "nothing written in the working directory");
    }

    /**
     * A server named by a host name with two addresses, the first dead: the connect goes on to
     * the second, and no failure is counted. The names come from a hosts file of the test's own
     * (the JDK's jdk.net.hosts.file), as a second A record would.
     */
    @Test
    void aServerNameWhoseFirstAddressIsDeadIsServedByItsNextAddress() throws Exception {
        Backend b = Backend.start("second-address");
        open.add(b);
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, "127.0.0.2 two-addresses.test\n127.0.0.1 two-addresses.test\n");
        Path f = config("{'listen': {'host': '127.0.0.1', 'port': 0}, 'upstreams': {'web': {'servers': [{'server': 'two-addresses.test:"
                + b.port() + "'}]}}}");
        Run r = run(List.of("-Djdk.net.hosts.file=" + hosts), "--config", f.toString(), "--no-access-log");
        int port = r.port();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> answer = Http.get("http://127.0.0.1:" + port + "/n" + i);
            assertEquals(200, answer.statusCode(), answer::body);
            assertEquals("second-address", answer.body());
        }
        String server = Http.get("http://127.0.0.1:" + port + "/api/upstreams/web/servers/0").body();
        assertTrue(server.replace(" ", "").contains("\"fails\":0"), server);
    }

    /**
     * Health probes go out on the requests' own upstream client, which tries every address of a
     * name: a tcp and an http check of a server whose first address is dead pass. (The tcp
     * probe had a client of its own that tried the first address only: the server was unhealthy.)
     */
    @Test
    void healthChecksOfANameWhoseFirstAddressIsDeadPassByItsNextAddress() throws Exception {
        Backend b = Backend.start("second-address");
        open.add(b);
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, "127.0.0.2 two-addresses.test\n127.0.0.1 two-addresses.test\n");
        String server = "{'server': 'two-addresses.test:" + b.port() + "'}";
        Path f = config("{'listen': {'host': '127.0.0.1', 'port': 0}, 'upstreams': {"
                + "'tcp': {'health_check': {'type': 'tcp', 'interval': '100ms', 'fails': 1}, 'servers': [" + server + "]},"
                + "'http': {'health_check': {'type': 'http', 'uri': '/health', 'interval': '100ms', 'fails': 1}, 'servers': [" + server + "]}},"
                + " 'routes': [{'path': '/', 'upstream': 'http'}]}");
        Run r = run(List.of("-Djdk.net.hosts.file=" + hosts), "--config", f.toString(), "--no-access-log");
        int port = r.port();
        for (String upstream : List.of("tcp", "http")) {
            String url = "http://127.0.0.1:" + port + "/api/upstreams/" + upstream + "/servers/0";
            Http.await(upstream + " checked three times", Duration.ofSeconds(20), () -> checks(url) >= 3);
            JsonObject s = JsonParser.parseString(Http.get(url).body()).getAsJsonObject();
            assertEquals("up", s.get("state").getAsString(), s::toString);
            assertEquals(0, s.getAsJsonObject("health_checks").get("fails").getAsInt(), s::toString);
        }
    }

    private static int checks(String url) {
        try {
            return JsonParser.parseString(Http.get(url).body()).getAsJsonObject().getAsJsonObject("health_checks").get("checks").getAsInt();
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    @Test
    void portFlagOverridesTheConfig() throws Exception {
        Backend backend = Backend.start("b");
        open.add(backend);
        int port = Backend.deadPort();
        Path f = config("{'listen': {'host': '127.0.0.1', 'port': 1}, 'upstreams': {'b': {'servers': [{'server': '" + backend.address() + "'}]}}}");
        Run r = run("--config", f.toString(), "--port", String.valueOf(port));
        assertEquals(port, r.port());
        assertEquals("b", Http.get("http://127.0.0.1:" + port + "/").body());
    }

    @Test
    void sigtermLetsTheInFlightRequestFinishThenExitsZero() throws Exception {
        Backend slow = Backend.start("slow");
        open.add(slow);
        Path f = config("{'listen': {'host': '127.0.0.1', 'port': 0}, 'upstreams': {'b': {'servers': [{'server': '" + slow.address() + "'}]}}}");
        Run r = run("--config", f.toString());
        int port = r.port();
        slow.holdRequests(1);
        CompletableFuture<HttpResponse<String>> inFlight = CompletableFuture.supplyAsync(() -> {
            try {
                return Http.get("http://127.0.0.1:" + port + "/slow");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertTrue(slow.arrived.await(20, TimeUnit.SECONDS), "request reached the backend");

        r.process.destroy(); // SIGTERM
        Http.await("the listener to close", Duration.ofSeconds(20), () -> !accepts(port));
        assertTrue(r.process.isAlive(), "still waiting for the in-flight request");
        slow.release();

        HttpResponse<String> response = inFlight.get(20, TimeUnit.SECONDS);
        assertEquals(200, response.statusCode());
        assertEquals("slow", response.body());
        assertTrue(r.process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, r.process.exitValue());
    }

    @Test
    void checkExitsZeroForAGoodConfigAndTwoWithTheStartUpMessageOtherwise() throws Exception {
        Path good = config("{'upstreams': {'b': {'servers': []}}, 'state': {'file': 'state.json'}}");
        Run ok = run("--check", "--config=" + good);
        assertTrue(ok.process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, ok.process.exitValue(), ok.err.toString());
        Http.await("stdout drained", Duration.ofSeconds(5), () -> ok.out.size() >= 2);
        assertEquals(List.of("upstream-proxy: warning: " + good + ": upstreams.b.servers: empty: requests routed to \"b\" get 503 until servers are added through the API",
                "upstream-proxy: " + good + ": configuration ok; state file " + dir.resolve("state.json") + " ok"), ok.out);

        Path dup = dir.resolve("dup.json");
        Files.writeString(dup, "{\"upstreams\": {\"b\": {\"servers\": [{\"server\": \"127.0.0.1:1\", \"weight\": 2, \"weight\": 5}]}}}");
        Run bad = run("--check", "--config", dup.toString());
        assertTrue(bad.process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, bad.process.exitValue());
        Http.await("stderr drained", Duration.ofSeconds(5), () -> !bad.err.isEmpty());
        assertEquals(List.of("upstream-proxy: " + dup + ": upstreams.b.servers[0].weight: duplicate key at line 1 column 73 (expected: each key once)"), bad.err);

        Files.writeString(dir.resolve("state.json"), "{\"version\": 1, \"upstreams\": {");
        Run badState = run("--check", "--config", good.toString());
        assertTrue(badState.process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, badState.process.exitValue());
        Http.await("stderr drained", Duration.ofSeconds(5), () -> !badState.err.isEmpty());
        assertTrue(badState.err.get(0).startsWith("upstream-proxy: " + dir.resolve("state.json") + ": not valid JSON"), badState.err.toString());
    }

    @Test
    void versionAndHelp() throws Exception {
        Run version = run("--version");
        assertTrue(version.process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, version.process.exitValue());
        Http.await("stdout drained", Duration.ofSeconds(5), () -> !version.out.isEmpty());
        assertTrue(version.out.get(0).matches("upstream-proxy \\d+\\.\\d+\\.\\d+.*"), version.out.toString());

        Run help = run("--help");
        assertTrue(help.process.waitFor(30, TimeUnit.SECONDS));
        Http.await("stdout drained", Duration.ofSeconds(5), () -> help.out.size() > 8);
        String text = String.join("\n", help.out);
        for (String option : List.of("--config FILE", "--port N", "--demo", "--no-access-log", "--check", "--version", "--help")) {
            assertTrue(text.contains("  " + option), option + " in " + text);
        }
        assertTrue(text.contains("(default: conf/upstream-proxy.json)"), text);
    }

    @Test
    void sighupReloadsLogsOverridesAndNeverEndsTheProcess() throws Exception {
        Backend one = Backend.start("one");
        Backend two = Backend.start("two");
        open.add(one);
        open.add(two);
        String json = "{'listen': {'host': '127.0.0.1', 'port': 0}, 'upstreams': {'b': {'servers': [{'server': '" + one.address()
                + "', 'weight': 2}]}}, 'state': {'file': 'state.json'}}";
        Path f = config(json);
        Run r = run("--config", f.toString());
        int port = r.port();
        long pid = r.process.pid();
        HttpResponse<String> patched = Http.send("PATCH", "http://127.0.0.1:" + port + "/api/upstreams/b/servers/0", "application/json", "{\"weight\": 5}");
        assertEquals(200, patched.statusCode(), patched.body());

        // a broken file: logged, the process lives on and serves the old config
        Files.writeString(f, "{'upstreams': ".replace('\'', '"'));
        hangUp(pid);
        Http.await("the reload error", Duration.ofSeconds(20), () -> r.err.stream().anyMatch(l -> l.contains("reload failed")));
        assertTrue(r.process.isAlive());
        assertEquals("one", Http.get("http://127.0.0.1:" + port + "/").body());

        config(json.replace("'weight': 2}", "'weight': 3}, {'server': '" + two.address() + "'}"));
        hangUp(pid);
        Http.await("the override line", Duration.ofSeconds(20), () -> r.err.stream().anyMatch(
                l -> l.contains("b server 0 (" + one.address() + ") weight: config 3, run-time 5 kept")));
        Http.await("the second server", Duration.ofSeconds(20), () -> {
            try {
                return Http.get("http://127.0.0.1:" + port + "/").body().equals("two");
            } catch (Exception e) {
                return false;
            }
        });
        // one at a time: the kernel merges a SIGHUP sent while the previous one is still pending
        hangUp(pid);
        Http.await("a second reload", Duration.ofSeconds(20), () -> r.err.stream().filter(l -> l.contains("reloaded ")).count() >= 2);
        hangUp(pid);
        Http.await("a third reload", Duration.ofSeconds(20), () -> r.err.stream().filter(l -> l.contains("reloaded ")).count() >= 3);
        assertTrue(r.process.isAlive(), "SIGHUP never ends the process");
    }

    private static void hangUp(long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(pid)).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, kill.exitValue());
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return true;
        } catch (ConnectException e) {
            return false;
        } catch (IOException e) {
            return false;
        }
    }
}
