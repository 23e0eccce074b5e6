package io.upstreamproxy.testing;

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real nameserver for tests: dnsmasq on 127.0.0.1 and a port free for UDP and TCP, answering
 * only from a hosts file the test rewrites ({@link #hosts}, which sends SIGHUP: dnsmasq rereads
 * it). No upstream nameservers, no /etc/hosts; stopped by its own PID.
 */
public final class Dnsmasq implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/sbin/dnsmasq");
    private final Path hostsFile;
    private final Path log;
    private final int port;
    private Process process;

    private Dnsmasq(Path dir, int port) {
        this.hostsFile = dir.resolve("dnsmasq.hosts");
        this.log = dir.resolve("dnsmasq.log");
        this.port = port;
    }

    /** Starts it with {@code hosts} lines ({@code "127.0.0.2 web.test"}); skips the test where dnsmasq is not installed. */
    public static Dnsmasq start(Path dir, String... hosts) throws Exception {
        Prerequisite.require(Files.isExecutable(BINARY), "dnsmasq (" + BINARY + ")", "apt-get install dnsmasq-base (.ci/run does)");
        for (int attempt = 1; ; attempt++) {
            Dnsmasq d = new Dnsmasq(dir, freePort());
            Files.writeString(d.hostsFile, String.join("\n", hosts) + "\n");
            try {
                d.launch();
                return d;
            } catch (IllegalStateException e) {
                // another process took the port between our check and dnsmasq's bind: try another
                if (attempt == 3 || !e.getMessage().contains("Address already in use")) {
                    throw e;
                }
            }
        }
    }

    private void launch() throws Exception {
        process = new ProcessBuilder(BINARY.toString(), "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--addn-hosts=" + hostsFile, "--port=" + port, "--listen-address=127.0.0.1", "--bind-interfaces",
                "--pid-file=" + hostsFile.resolveSibling("dnsmasq.pid"), "--log-facility=-", "--local-ttl=0",
                "--user=" + System.getProperty("user.name"))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Http.await("dnsmasq reading its hosts file", Duration.ofSeconds(10), () -> reads() > 0 || !process.isAlive());
        if (!process.isAlive()) {
            throw new IllegalStateException("dnsmasq did not start: " + Files.readString(log));
        }
    }

    /** {@code 127.0.0.1:port}, as the config's {@code resolver}. */
    public String address() {
        return "127.0.0.1:" + port;
    }

    /** Replaces the hosts file and makes dnsmasq reread it; returns once it did. */
    public void hosts(String... lines) throws Exception {
        Files.writeString(hostsFile, String.join("\n", lines) + "\n");
        long reads = reads();
        new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).start().waitFor(10, TimeUnit.SECONDS);
        Http.await("dnsmasq rereading its hosts file", Duration.ofSeconds(10), () -> reads() > reads);
    }

    /** Stops it (the resolver goes away); {@link #restart} brings it back on the same port. */
    public void stop() throws Exception {
        process.destroy();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    public void restart() throws Exception {
        launch();
    }

    private long reads() {
        try {
            return Files.readAllLines(log).stream().filter(l -> l.contains("read " + hostsFile)).count();
        } catch (IOException e) {
            return 0;
        }
    }

    /** A port free for both UDP and TCP on 127.0.0.1: dnsmasq listens on both. */
    private static int freePort() throws Exception {
        while (true) {
            try (DatagramSocket udp = new DatagramSocket(0, InetAddress.getLoopbackAddress());
                 ServerSocket tcp = new ServerSocket(udp.getLocalPort(), 1, InetAddress.getLoopbackAddress())) {
                return tcp.getLocalPort();
            } catch (BindException e) {
                // free for UDP, taken for TCP: draw again
            }
        }
    }

    @Override
    public void close() throws Exception {
        if (process != null && process.isAlive()) {
            stop();
        }
    }
}
