package io.upstreamproxy.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The proxy as a process of its own ({@code java io.upstreamproxy.Main ...} on the test class
 * path, so no packaged jar is needed), for what only a process shows: signals, exit codes,
 * listeners handed from one process to the next. Output is collected line by line.
 */
public final class ProxyProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/");

    public final Process process;
    public final List<String> out = new CopyOnWriteArrayList<>();
    public final List<String> err = new CopyOnWriteArrayList<>();

    private final List<Thread> pumps = new ArrayList<>();

    private ProxyProcess(Process process) {
        this.process = process;
        pumps.add(pump(process.getInputStream(), out));
        pumps.add(pump(process.getErrorStream(), err));
    }

    /** Starts {@code Main} with {@code args} in {@code dir}, with {@code env} added to the environment. */
    public static ProxyProcess start(Path dir, Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), "io.upstreamproxy.Main"));
        cmd.addAll(List.of(args));
        return launch(dir, env, cmd);
    }

    /** Runs {@code command} (the launcher of an {@link Installation}, a wrapper around it) in {@code dir}. */
    public static ProxyProcess launch(Path dir, Map<String, String> env, List<String> command) throws IOException {
        ProcessBuilder b = new ProcessBuilder(command).directory(dir.toFile());
        b.environment().putAll(env);
        return new ProxyProcess(b.start());
    }

    /** The port of the listening line, once it is printed. */
    public int port() throws InterruptedException {
        Http.await("the listening line", Duration.ofSeconds(60), () -> listeningPort() > 0 || !process.isAlive());
        int p = listeningPort();
        if (p <= 0) {
            throw new AssertionError("no listening line; stdout=" + out + " stderr=" + err);
        }
        return p;
    }

    private int listeningPort() {
        for (String l : out) {
            Matcher m = LISTENING.matcher(l);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
        }
        return -1;
    }

    /** Waits for a line of standard error containing {@code text}. */
    public void awaitLog(String text, Duration deadline) throws InterruptedException {
        Http.await("a log line with \"" + text + "\"; stderr=" + err, deadline, () -> err.stream().anyMatch(l -> l.contains(text)));
    }

    /** SIGTERM. Through the process handle: {@code Process.destroy} also closes our ends of its pipes, and its last lines would be lost. */
    public void terminate() {
        process.toHandle().destroy();
    }

    /** The exit code, waiting up to {@code deadline}. */
    public int exitCode(Duration deadline) throws InterruptedException {
        if (!process.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("still running after " + deadline + "; stderr=" + err);
        }
        for (Thread t : pumps) {
            t.join(deadline.toMillis()); // the last lines may still be in the pipe
        }
        return process.exitValue();
    }

    private static Thread pump(InputStream in, List<String> lines) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
}
