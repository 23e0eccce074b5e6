package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Each balancing algorithm, selected by name in the config, through the real proxy to real
 * backends. One proxy serves them all: an upstream per algorithm over the same backends a, b, c,
 * routed by path prefix, so each test starts from its own fresh balancer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BalancersEndToEndTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private Backend a;
    private Backend b;
    private Backend c;
    private RunningProxy proxy;

    @BeforeAll
    void start() throws Exception {
        a = Backend.start("a");
        b = Backend.start("b");
        c = Backend.start("c");
        proxy = RunningProxy.start("{ \"upstreams\": {"
                + upstream("rr", "\"balancer\": \"round-robin\"", 5, 1, 1) + ","
                + upstream("urr", "\"balancer\": \"unweighted-round-robin\"", 5, 1, 1) + ","
                + upstream("lc", "\"balancer\": \"least-conn\"", 1, 1, 1) + ","
                + upstream("r2", "\"balancer\": \"random-two\"", 1, 1) + ","
                + upstream("ip", "\"balancer\": \"ip-hash\"", 1, 1, 1) + ","
                + upstream("ch", "\"balancer\": \"consistent-hash\", \"hash_key\": \"header:X-User\"", 1, 1, 1) + ","
                + upstream("plugin", "\"balancer\": \"first-usable\"", 1, 1, 1)
                + "}, \"routes\": ["
                + String.join(", ", List.of(route("rr"), route("urr"), route("lc"), route("r2"), route("ip"), route("ch"), route("plugin")))
                + "] }");
    }

    @AfterAll
    void stop() throws Exception {
        proxy.close();
        a.close();
        b.close();
        c.close();
    }

    @BeforeEach
    void resetCounts() {
        a.hits.set(0);
        b.hits.set(0);
        c.hits.set(0);
    }

    /** An upstream over a, b, c, ... with the given weights. */
    private String upstream(String name, String balancer, int... weights) {
        Backend[] backends = {a, b, c};
        List<String> servers = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            servers.add("{ \"server\": \"" + backends[i].address() + "\", \"weight\": " + weights[i] + " }");
        }
        return "\"" + name + "\": { " + balancer + ", \"servers\": [" + String.join(", ", servers) + "] }";
    }

    private static String route(String name) {
        return "{ \"path\": \"/" + name + "/\", \"upstream\": \"" + name + "\" }";
    }

    /** The backend names that answered n sequential GETs, joined by spaces. */
    private String sequence(String upstream, int n) throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            names.add(get("/" + upstream + "/x", Map.of()));
        }
        return String.join(" ", names);
    }

    private String get(String path, Map<String, String> headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(proxy.url(path)));
        headers.forEach(r::header);
        HttpResponse<String> response = Http.send(r);
        assertEquals(200, response.statusCode(), response.body());
        return response.body();
    }

    @Test
    void roundRobinSpreadsTheHeavyServerSmoothly() throws Exception {
        assertEquals("a a b a c a a a a b a c a a", sequence("rr", 14));
    }

    @Test
    void unweightedRoundRobinIgnoresWeights() throws Exception {
        assertEquals("a b c a b c", sequence("urr", 6));
    }

    @Test
    void leastConnKeepsNewRequestsAwayFromTheServerStillWorking() throws Exception {
        a.holdRequests(1);
        CompletableFuture<HttpResponse<String>> held = Http.sendAsync(HttpRequest.newBuilder(URI.create(proxy.url("/lc/slow"))));
        Http.await("a holds a request", DEADLINE, () -> a.arrived.getCount() == 0);
        // Round-robin would send every third request to a; least-conn alternates the idle two.
        assertEquals("b c b c b c", sequence("lc", 6));
        a.release();
        assertEquals("a", held.get().body());
    }

    @Test
    void randomTwoSendsFewerRequestsToTheBusyServer() throws Exception {
        a.holdRequests(1); // a stays busy with every request it gets; b answers at once
        List<CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
        int requests = 60;
        for (int i = 1; i <= requests; i++) {
            pending.add(Http.sendAsync(HttpRequest.newBuilder(URI.create(proxy.url("/r2/" + i)))));
            int seen = i;
            // One at a time, so each pick sees the requests a is still holding.
            Http.await("request " + i + " reached a backend", DEADLINE, () -> a.hits.get() + b.hits.get() == seen);
        }
        // Busy a wins only when drawn twice: 1 in 4, about 15 of 60, where random would give it 30.
        // Odds of 28 or more with p = 1/4: under 1 in 10,000.
        int busy = a.hits.get();
        assertTrue(busy >= 1 && busy < 28, "a (busy) got " + busy + " of " + requests);
        a.release();
        for (CompletableFuture<HttpResponse<String>> p : pending) {
            assertEquals(200, p.get().statusCode());
        }
    }

    @Test
    void ipHashKeepsAClientOnOneServer() throws Exception {
        Set<String> answered = new HashSet<>(List.of(sequence("ip", 12).split(" ")));
        assertEquals(1, answered.size(), "127.0.0.1 always lands on the same server: " + answered);
    }

    @Test
    void consistentHashKeepsEachKeyOnOneServerAndFallsBackWithoutIt() throws Exception {
        Map<String, String> first = new HashMap<>();
        for (int round = 0; round < 2; round++) {
            for (int u = 0; u < 12; u++) {
                String user = "user" + u;
                String name = get("/ch/x", Map.of("X-User", user));
                assertEquals(first.computeIfAbsent(user, k -> name), name, user);
            }
        }
        assertTrue(new HashSet<>(first.values()).size() >= 2, "users spread: " + first);
        assertEquals("a b c", sequence("ch", 3), "no X-User: round-robin");
    }

    @Test
    void balancerRegisteredThroughServiceLoaderIsUsableFromConfig() throws Exception {
        // FirstUsableBalancerProvider is only on the test classpath, named in META-INF/services.
        assertEquals("a a a a", sequence("plugin", 4));
    }
}
