package io.upstreamproxy.fleet;

import io.upstreamproxy.testing.Prerequisite;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;

/**
 * Real etcd members (Debian's {@code /usr/bin/etcd}, 3.4) on free 127.0.0.1 ports in a temporary
 * data directory. Members are stopped only through the {@link Process} this class started.
 */
final class EtcdCluster implements AutoCloseable {
    static final String BINARY = System.getProperty("upstream-proxy.etcd", "/usr/bin/etcd");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    private final Path dir;
    private final List<Member> members = new ArrayList<>();
    /** Extra etcd flags for every member (TLS files); empty: plain HTTP only. */
    private final List<String> extra = new ArrayList<>();
    /** Raft timing: heartbeat and election timeout in ms. */
    private int heartbeat = 50;
    private int electionTimeout = 500;

    /** One member's fixed ports and its current process (null while stopped). */
    final class Member {
        final String name;
        final int clientPort;
        final int peerPort;
        /** With TLS: a second client listener, https, next to the plain one the harness checks health on. */
        final int tlsPort;
        Process process;

        Member(String name, int clientPort, int peerPort, int tlsPort) {
            this.name = name;
            this.clientPort = clientPort;
            this.peerPort = peerPort;
            this.tlsPort = tlsPort;
        }

        String clientUrl() {
            return "http://127.0.0.1:" + clientPort;
        }

        String tlsUrl() {
            return "https://127.0.0.1:" + tlsPort;
        }

        void start() throws IOException {
            String cluster = members.stream().map(m -> m.name + "=http://127.0.0.1:" + m.peerPort).collect(Collectors.joining(","));
            Path log = dir.resolve(name + ".log");
            String listen = extra.isEmpty() ? clientUrl() : clientUrl() + "," + tlsUrl();
            List<String> command = new ArrayList<>(List.of(BINARY, "--name", name, "--data-dir", dir.resolve(name).toString(),
                    "--listen-client-urls", listen, "--advertise-client-urls", listen,
                    "--listen-peer-urls", "http://127.0.0.1:" + peerPort,
                    "--initial-advertise-peer-urls", "http://127.0.0.1:" + peerPort,
                    "--initial-cluster", cluster, "--initial-cluster-state", "new",
                    "--initial-cluster-token", "upstream-proxy-test",
                    "--heartbeat-interval", Integer.toString(heartbeat), "--election-timeout", Integer.toString(electionTimeout),
                    // a killed member that returns does not call an election of its own (3.4's default lets it)
                    "--pre-vote",
                    "--logger", "zap", "--log-level", "warn"));
            command.addAll(extra);
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        }

        /** SIGKILL, as a crash. */
        void kill() throws InterruptedException {
            process = EtcdCluster.killed(process);
        }

        /** SIGSTOP or SIGCONT to this member's own process (a frozen machine, then its return). */
        void signal(String signal) throws IOException, InterruptedException {
            EtcdCluster.signal(process, signal, name);
        }

        /** True when this member says it leads (its /metrics' etcd_server_is_leader). */
        boolean leads() {
            HttpResponse<String> r = tryGet(clientUrl() + "/metrics");
            return r != null && r.body().contains("\netcd_server_is_leader 1");
        }

        boolean healthy() {
            HttpResponse<String> r = tryGet(clientUrl() + "/health");
            return r != null && r.statusCode() == 200 && r.body().contains("\"true\"");
        }

        void awaitHealthy() throws InterruptedException {
            long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!healthy()) {
                if (process != null && !process.isAlive()) {
                    Assertions.fail("etcd " + name + " exited: " + tail());
                }
                if (System.nanoTime() > end) {
                    Assertions.fail("etcd " + name + " not healthy after 20 s: " + tail());
                }
                Thread.sleep(20); // polling interval
            }
        }

        private String tail() {
            try {
                String s = Files.readString(dir.resolve(name + ".log"));
                return s.substring(Math.max(0, s.length() - 2000));
            } catch (IOException e) {
                return e.toString();
            }
        }
    }

    private EtcdCluster(Path dir) {
        this.dir = dir;
    }

    /** Starts {@code size} members and waits until they serve. */
    static EtcdCluster start(int size) throws Exception {
        return start(size, List.of());
    }

    /** As {@link #start(int)}, each member with these extra flags (and an https listener when there are any). */
    static EtcdCluster start(int size, List<String> extraFlags) throws Exception {
        return start(size, extraFlags, 500);
    }

    /**
     * As {@link #start(int)} with a longer election timeout: a leader whose followers are
     * frozen keeps leading that long, holding the proposals it cannot commit yet.
     */
    static EtcdCluster startWithElectionTimeout(int size, int electionTimeoutMillis) throws Exception {
        return start(size, List.of(), electionTimeoutMillis);
    }

    private static EtcdCluster start(int size, List<String> extraFlags, int electionTimeoutMillis) throws Exception {
        Prerequisite.require(Files.isExecutable(Path.of(BINARY)), BINARY, "Install Debian's etcd-server (.ci/run does).");
        EtcdCluster c = new EtcdCluster(Files.createTempDirectory("upstream-proxy-etcd"));
        c.extra.addAll(extraFlags);
        c.electionTimeout = electionTimeoutMillis;
        c.heartbeat = Math.max(50, electionTimeoutMillis / 10);
        for (int i = 1; i <= size; i++) {
            c.members.add(c.new Member("m" + i, freePort(), freePort(), freePort()));
        }
        for (Member m : c.members) {
            m.start();
        }
        for (Member m : c.members) {
            m.awaitHealthy();
        }
        return c;
    }

    Member member(int i) {
        return members.get(i);
    }

    /** The member that leads now, waiting for an election if there is none. */
    Member leader() throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < end) {
            for (Member m : members) {
                if (m.process != null && m.leads()) {
                    return m;
                }
            }
            Thread.sleep(20); // polling interval
        }
        throw new AssertionError("no etcd member leads after 20 s");
    }

    /** The endpoints as a JSON array for the config. */
    String endpointsJson() {
        return members.stream().map(m -> "\"" + m.clientUrl() + "\"").collect(Collectors.joining(", ", "[", "]"));
    }

    /** The https endpoints as a JSON array for the config. */
    String tlsEndpointsJson() {
        return members.stream().map(m -> "\"" + m.tlsUrl() + "\"").collect(Collectors.joining(", ", "[", "]"));
    }

    List<String> endpoints() {
        return members.stream().map(Member::clientUrl).toList();
    }

    /** Restarts stopped members with their data. */
    void restart() throws Exception {
        for (Member m : members) {
            if (m.process == null) {
                m.start();
            }
        }
        for (Member m : members) {
            m.awaitHealthy();
        }
    }

    void killAll() throws InterruptedException {
        for (Member m : members) {
            m.kill();
        }
    }

    /** The answer to a GET within 1 s, or null when there is none (the process is down or frozen). */
    static HttpResponse<String> tryGet(String url) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(1)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** SIGKILL to a process this harness started (null: none), waiting for its end; returns null. */
    static Process killed(Process process) throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor();
        }
        return null;
    }

    /** {@code kill -SIGNAL} to a process this harness started. */
    static void signal(Process process, String signal, String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
        Assertions.assertEquals(0, kill.waitFor(), "kill -" + signal + " " + name);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        killAll();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
