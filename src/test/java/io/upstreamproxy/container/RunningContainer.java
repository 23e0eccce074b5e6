package io.upstreamproxy.container;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A started servlet container: where it listens, and everything it logged, i.e. its console
 * plus any files under its {@code logs/} directory (Tomcat writes some errors only there).
 */
final class RunningContainer implements AutoCloseable {
    private final ContainerProcess process;
    private final int port;
    private final Path logDir;

    private RunningContainer(ContainerProcess process, int port, Path logDir) {
        this.process = process;
        this.port = port;
        this.logDir = logDir;
    }

    /**
     * Runs {@code command} in {@code base} (console to {@code base/console.log}, log files in
     * {@code base/logs/}) and waits, bounded, for the log line whose first group is the bound port.
     */
    static RunningContainer launch(String name, List<String> command, Path base, Map<String, String> env,
            Pattern portLine, Duration timeout) throws IOException, InterruptedException {
        ContainerProcess process = ContainerProcess.start(name, command, base, env, base.resolve("console.log"));
        try {
            int port = Integer.parseInt(process.awaitLogLine(portLine, timeout));
            return new RunningContainer(process, port, base.resolve("logs"));
        } catch (RuntimeException | Error e) {
            process.close();
            throw e;
        }
    }

    int port() {
        return port;
    }

    /** {@code http://127.0.0.1:port} + {@code path}. */
    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** The console output followed by every log file the container wrote. */
    String log() {
        StringBuilder all = new StringBuilder(process.log());
        if (Files.isDirectory(logDir)) {
            try (Stream<Path> files = Files.list(logDir)) {
                for (Path f : files.sorted().toList()) {
                    all.append("\n=== ").append(f.getFileName()).append('\n')
                            .append(Files.readString(f, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return all.toString();
    }

    /** Lines of {@link #log()} that show a problem in our webapp (see {@link ContainerLog}). */
    List<String> problems() {
        return ContainerLog.problems(log());
    }

    @Override
    public void close() throws InterruptedException {
        process.close();
    }
}
