package io.upstreamproxy.fleet;

import io.upstreamproxy.testing.Http;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The executable jar as its own process (so it can be killed with -9 or frozen), on a fixed
 * 127.0.0.1 port kept across restarts. Only the process this class started is signalled.
 */
final class ProxyProcess implements AutoCloseable {
    static final Path JAR = Path.of(System.getProperty("upstream-proxy.jar", "target/upstream-proxy.jar"));

    final String name;
    final int port;
    private final Path config;
    private final Path log;
    private Process process;

    ProxyProcess(String name, Path dir, String configJson) throws IOException {
        this.name = name;
        try (ServerSocket s = new ServerSocket(0)) {
            this.port = s.getLocalPort();
        }
        this.config = dir.resolve(name + ".json");
        this.log = dir.resolve(name + ".log");
        Files.writeString(config, configJson);
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** Starts the jar (small heap, C1 only: three of them share a busy machine) and waits until its API answers. */
    void start() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        process = new ProcessBuilder(List.of(java, "-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-jar", JAR.toString(), "--config", config.toString(), "--port", Integer.toString(port)))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        Http.await(name + " answers", Duration.ofSeconds(60), () -> {
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited: see " + log);
            }
            HttpResponse<String> r = EtcdCluster.tryGet(url("/api/fleet"));
            return r != null && r.statusCode() == 200;
        });
    }

    /** SIGKILL, as a crash. */
    void kill() throws InterruptedException {
        process = EtcdCluster.killed(process);
    }

    /** SIGSTOP or SIGCONT to this process. */
    void signal(String signal) throws IOException, InterruptedException {
        EtcdCluster.signal(process, signal, name);
    }

    /** Copies this process's log into {@code into} (the temporary directory goes with the test). */
    void keepLog(Path into) throws IOException {
        Files.createDirectories(into);
        if (Files.exists(log)) {
            Files.copy(log, into.resolve(name + ".log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Override
    public void close() throws Exception {
        if (process != null) {
            process.destroy();
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            process = null;
        }
    }
}
