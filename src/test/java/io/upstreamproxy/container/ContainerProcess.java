package io.upstreamproxy.container;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A servlet container running as a child process, its stdout and stderr captured in one file.
 * A shutdown hook kills it if the test JVM dies first, so no container outlives the build.
 */
final class ContainerProcess implements AutoCloseable {
    private static final Duration STOP_GRACE = Duration.ofSeconds(20);

    private final String name;
    private final Process process;
    private final Path logFile;
    private final Thread killOnExit;

    private ContainerProcess(String name, Process process, Path logFile) {
        this.name = name;
        this.process = process;
        this.logFile = logFile;
        this.killOnExit = new Thread(process::destroyForcibly, name + "-kill-on-exit");
        Runtime.getRuntime().addShutdownHook(killOnExit);
    }

    /** Starts {@code command} in {@code dir} with the current environment plus {@code env}. */
    static ContainerProcess start(String name, List<String> command, Path dir, Map<String, String> env, Path logFile) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(logFile.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putAll(env);
        return new ContainerProcess(name, builder.start(), logFile);
    }

    /**
     * Waits until the log has a line matching {@code pattern} and returns its first group. The
     * containers announce their bound port this way, after deploying the webapps, so this is also
     * the readiness signal. Fails at once, with the log, if the process exits.
     */
    String awaitLogLine(Pattern pattern, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            Matcher m = pattern.matcher(log());
            if (m.find()) {
                return m.group(1);
            }
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited with " + process.exitValue() + " before it was ready; its log:\n" + log());
            }
            if (System.nanoTime() > end) {
                throw new AssertionError(name + " not ready after " + timeout + " (no line matching " + pattern + "); its log:\n" + log());
            }
            Thread.sleep(50); // polling interval for a child process's output, not a wait for a state change
        }
    }

    /** Everything the container printed so far. */
    String log() {
        try {
            return Files.readString(logFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SIGTERM (the containers' shutdown hooks undeploy the webapps), then SIGKILL after the grace. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException alreadyExiting) {
            // the hook runs anyway
        }
    }
}
