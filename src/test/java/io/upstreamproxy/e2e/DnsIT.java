package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Dnsmasq;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "resolve" against a real nameserver: dnsmasq answering web.test from a hosts file the test
 * rewrites, two backends on 127.0.0.2 and 127.0.0.3 (same port), the real proxy re-resolving
 * every second through "resolver".
 */
class DnsIT {
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    Backend two;
    Backend three;
    Dnsmasq dns;
    RunningProxy proxy;

    @BeforeEach
    void backends() throws Exception {
        two = Backend.startOn("two", "127.0.0.2", 0);
        three = Backend.startOn("three", "127.0.0.3", two.port()); // one name, one port, two addresses
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {proxy, dns, two, three}) {
            if (c != null) {
                c.close();
            }
        }
    }

    private RunningProxy startProxy() throws Exception {
        return RunningProxy.start("""
                {"listen": {"host": "127.0.0.1", "port": 0},
                 "resolver": "%s",
                 "upstreams": {"web": {"resolve": "1s", "servers": [{"server": "web.test:%d", "max_fails": 0}]}},
                 "state": {"file": "state.json"}}
                """.formatted(dns.address(), two.port()), dir.resolve("proxy.json"));
    }

    private List<String> servers() throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonElement e : api().getAsJsonArray("servers")) {
            JsonObject s = e.getAsJsonObject();
            out.add(s.get("id").getAsInt() + "=" + s.get("server").getAsString());
        }
        return out;
    }

    private JsonObject api() throws Exception {
        return com.google.gson.JsonParser.parseString(Http.get(proxy.url("/api/upstreams/web")).body()).getAsJsonObject();
    }

    private void await(String what, BooleanSupplier condition) throws InterruptedException {
        Http.await(what, DEADLINE, condition);
    }

    private boolean serversAre(String... expected) {
        try {
            return servers().equals(List.of(expected));
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void addressesJoinAndLeaveWithStableIdsAndAResolverThatDiesLeavesTheLastAnswer() throws Exception {
        int port = two.port();
        dns = Dnsmasq.start(dir, "127.0.0.2 web.test");
        proxy = startProxy();
        assertEquals(List.of("0=127.0.0.2:" + port), servers());
        assertEquals("two", proxy.get("/").body());

        dns.hosts("127.0.0.2 web.test", "127.0.0.3 web.test");
        await("127.0.0.3 joins", () -> serversAre("0=127.0.0.2:" + port, "1=127.0.0.3:" + port));
        await("both answer", () -> bodies(10).containsAll(List.of("two", "three")));

        // a request in flight to 127.0.0.2 when it leaves the answer finishes there
        two.holdRequests(1);
        CompletableFuture<HttpResponse<String>> inFlight = new CompletableFuture<>();
        while (!two.arrived.await(0, TimeUnit.MILLISECONDS)) { // round robin: the next request or the one after goes to two
            Http.sendAsync(HttpRequest.newBuilder(URI.create(proxy.url("/held")))).whenComplete((r, e) -> {
                if (r != null && r.body().equals("two")) {
                    inFlight.complete(r);
                }
            });
            two.arrived.await(2, TimeUnit.SECONDS);
        }
        dns.hosts("127.0.0.3 web.test");
        await("127.0.0.2 leaves", () -> serversAre("1=127.0.0.3:" + port));
        two.release();
        assertEquals(200, inFlight.get(20, TimeUnit.SECONDS).statusCode());
        assertEquals(List.of("three"), bodies(5).stream().distinct().toList());

        dns.stop();
        await("the failure shows", () -> {
            try {
                return !resolveStatus().get("last_error").isJsonNull();
            } catch (Exception e) {
                return false;
            }
        });
        JsonObject status = resolveStatus();
        assertEquals("web.test:" + port, status.get("name").getAsString());
        assertEquals("[\"127.0.0.3\"]", status.getAsJsonArray("addresses").toString());
        assertEquals(List.of("1=127.0.0.3:" + port), servers(), "the last answer is kept");
        assertEquals("three", proxy.get("/").body());

        // a restart while the name resolves to what it did: the same id, from the state file
        dns.restart();
        proxy.close();
        proxy = startProxy();
        assertEquals(List.of("1=127.0.0.3:" + port), servers());
    }

    @Test
    void startUpProceedsWithoutAnAddressWhileTheResolverIsDown() throws Exception {
        dns = Dnsmasq.start(dir, "127.0.0.2 web.test");
        dns.stop();
        proxy = startProxy();
        assertEquals(List.of(), servers());
        assertEquals(503, proxy.get("/").statusCode());
        assertTrue(!resolveStatus().get("last_error").isJsonNull(), resolveStatus().toString());
        dns.restart();
        await("the name resolves and its address joins", () -> serversAre("0=127.0.0.2:" + two.port()));
        assertEquals("two", proxy.get("/").body());
    }

    private JsonObject resolveStatus() throws Exception {
        JsonArray names = api().getAsJsonArray("resolve");
        return names.get(0).getAsJsonObject();
    }

    private List<String> bodies(int n) {
        List<String> out = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                out.add(proxy.get("/").body());
            }
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
        return out;
    }
}
