package io.upstreamproxy.route;

import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of matching one request against the routes, at 10 and 1,000 routes. {@code hosts}:
 * one route per site ({@code host} and a path prefix), as a proxy in front of many sites has;
 * {@code prefixes}: path prefixes only, as a single site split by path has (today's
 * longest-prefix rule). Requests cycle through 1,024 that match routes spread over the whole
 * table, and one in eight matches nothing (the 404 path). Run as docs/routing.md says
 * ({@code -Pjmh}); not part of {@code mvn verify}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RouteMatchBenchmark {
    private static final int REQUESTS = 1024;

    @Param({"10", "1000"})
    public int routes;

    @Param({"hosts", "prefixes"})
    public String shape;

    private RouteTable table;
    private RouteRequest[] requests;
    private int next;

    private record Request(String host, String path, String method, String query) implements RouteRequest {
        @Override
        public String header(String name) {
            return null;
        }

        @Override
        public String listener() {
            return null;
        }
    }

    @Setup
    public void setUp() {
        StringBuilder json = new StringBuilder("{\"upstreams\": {\"a\": {}}, \"routes\": [");
        for (int i = 0; i < routes; i++) {
            if (i > 0) {
                json.append(',');
            }
            if (shape.equals("hosts")) {
                json.append("{\"host\": \"site").append(i).append(".example.com\", \"path\": \"/app/\", \"upstream\": \"a\"}");
            } else {
                json.append("{\"path\": \"/svc").append(i).append("/\", \"upstream\": \"a\"}");
            }
        }
        json.append("]}");
        ProxyConfig config = ConfigLoader.parse(json.toString(), null);
        table = RouteTable.of(config.routes());
        requests = new RouteRequest[REQUESTS];
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < REQUESTS; i++) {
            int r = random.nextInt(routes);
            boolean miss = i % 8 == 7;
            requests[i] = shape.equals("hosts")
                    ? new Request((miss ? "other" : "site" + r) + ".example.com:8080", "/app/page/" + i, "GET", null)
                    : new Request("www.example.com", (miss ? "/none/" : "/svc" + r + "/") + "page/" + i, "GET", null);
        }
    }

    @Benchmark
    public RouteRule match() {
        RouteRequest r = requests[next];
        next = (next + 1) & (REQUESTS - 1);
        return table.match(r);
    }
}
