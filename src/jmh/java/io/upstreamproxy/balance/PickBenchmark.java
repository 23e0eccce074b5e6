package io.upstreamproxy.balance;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one pick, per algorithm and upstream size, on one thread and on two threads
 * sharing the balancer. Endpoints have weights 1..5; the usable check reads a volatile flag,
 * as {@code Server.isEligible} reads volatile state; requests cycle through 1024 client
 * addresses and {@code X-User} values so hashing sees varied keys. {@code upstream} sets the
 * servers' state: {@code idle} (none in flight, all usable), {@code busy} (0..9 in flight,
 * varying from server to server, so least-conn compares rather than ties; the counts stay
 * put during the run) and {@code down10} (idle, every tenth server unusable).
 * Run as docs/balancers.md says ({@code -Pjmh}); not part of {@code mvn verify}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PickBenchmark {
    private static final int REQUESTS = 1024;
    private static final Predicate<Node> USABLE = n -> !n.down;

    @Param({"round-robin", "unweighted-round-robin", "least-conn", "random-two", "least-time", "ip-hash", "consistent-hash"})
    public String algorithm;

    @Param({"2", "10", "100", "1000"})
    public int servers;

    @Param({"idle", "busy", "down10"})
    public String upstream;

    private Balancer<Node> balancer;
    private RequestInfo[] requests;

    /** A server as the balancer sees it. */
    static final class Node implements Endpoint {
        final String key;
        final int weight;
        volatile boolean down;
        volatile int active;

        Node(String key, int weight) {
            this.key = key;
            this.weight = weight;
        }

        @Override
        public String key() {
            return key;
        }

        @Override
        public int weight() {
            return weight;
        }

        @Override
        public int active() {
            return active;
        }
    }

    /** Each benchmark thread walks the request array from its own place. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;
    }

    @Setup
    public void setUp() {
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < servers; i++) {
            Node n = new Node("10.1." + i / 256 + "." + i % 256 + ":8080", 1 + i % 5);
            n.active = upstream.equals("busy") ? (i * 7) % 10 : 0;
            n.down = upstream.equals("down10") && i % 10 == 3;
            nodes.add(n);
        }
        String hashKey = algorithm.equals("consistent-hash") ? "header:X-User" : null;
        balancer = Balancers.create(algorithm, BalancerOptions.of(hashKey, System::nanoTime));
        balancer.update(nodes);
        requests = new RequestInfo[REQUESTS];
        for (int i = 0; i < REQUESTS; i++) {
            String address = "192.168." + i % 256 + "." + (i * 7) % 256;
            String user = "user-" + i * 7919;
            requests[i] = new RequestInfo() {
                @Override
                public String clientAddress() {
                    return address;
                }

                @Override
                public String header(String name) {
                    return user;
                }
            };
        }
    }

    @Benchmark
    @Threads(1)
    public Node pickOneThread(Cursor c) {
        return balancer.pick(requests[c.next++ & (REQUESTS - 1)], USABLE);
    }

    @Benchmark
    @Threads(2)
    public Node pickTwoThreads(Cursor c) {
        return balancer.pick(requests[c.next++ & (REQUESTS - 1)], USABLE);
    }
}
