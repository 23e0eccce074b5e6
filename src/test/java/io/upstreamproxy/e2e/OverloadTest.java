package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RawHttp;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.upstream.Upstream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Overload protection and retry policy (SPEC §13) with real Jetty backends, in whichever front
 * end this run serves through: an upstream's queue when its servers are at {@code max_conns},
 * its limits, and which answers go to another server.
 */
class OverloadTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private Backend backend(String name) throws Exception {
        Backend b = Backend.start(name);
        open.add(b);
        return b;
    }

    /** A backend that answers 503 to everything. */
    private Backend unavailable(String name) throws Exception {
        Backend b = backend(name);
        b.status = 503;
        return b;
    }

    private RunningProxy proxy(String upstreamKeys, Backend... servers) throws Exception {
        StringBuilder list = new StringBuilder();
        for (Backend b : servers) {
            list.append(list.length() == 0 ? "" : ", ").append("{'server': '").append(b.address()).append("', 'max_conns': 1}");
        }
        RunningProxy p = RunningProxy.start(("{'listen': {'host': '127.0.0.1', 'port': 0, 'http2': true}, 'upstreams': {'app': {"
                + upstreamKeys + ", 'servers': [" + list + "]}}}").replace('\'', '"'));
        open.add(p);
        return p;
    }

    private static CompletableFuture<HttpResponse<String>> send(RunningProxy p, String path) {
        return Http.sendAsync(HttpRequest.newBuilder(URI.create(p.url(path))));
    }

    /** A request {@code server} holds until released, so that its one place (max_conns 1) is taken. */
    private static CompletableFuture<HttpResponse<String>> held(RunningProxy p, Backend server) throws InterruptedException {
        server.holdRequests(1);
        CompletableFuture<HttpResponse<String>> first = send(p, "/first");
        assertTrue(server.arrived.await(10, TimeUnit.SECONDS));
        return first;
    }

    private static Upstream app(RunningProxy p) {
        return p.registry().get("app");
    }

    private static JsonObject error(HttpResponse<String> r) {
        return JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error");
    }

    /**
     * Issue 27's case: max_conns 1, a server that takes 800 ms, a queue of 5 with a 1 s timeout,
     * 8 requests at once: each ends served or 503 within the timeout (plus the one being served),
     * none hangs, none counts against the server.
     */
    @Test
    void eightRequestsAtOnceEndServedOr503WithinTheTimeout() throws Exception {
        Backend a = backend("a");
        a.delayMillis = 800;
        RunningProxy p = proxy("'queue': {'size': 5, 'timeout': '1s'}", a);
        long start = System.nanoTime();
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            all.add(send(p, "/r" + i));
        }
        int served = 0;
        int refused = 0;
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get(10, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            if (r.statusCode() == 200) {
                served++;
            } else {
                assertEquals(503, r.statusCode(), r.body());
                String code = error(r).get("code").getAsString();
                assertTrue(code.equals("QueueTimeout") || code.equals("QueueFull"), r.body());
                refused++;
            }
            assertTrue(ms < 800 + 1000 + 1500, "ended within the server's time and the queue's timeout: " + ms + " ms");
        }
        assertEquals(8, served + refused);
        assertTrue(served >= 2, "the first, and the one let in when it ended 800 ms later: " + served);
        assertEquals(0, app(p).servers().get(0).stats().fails());
        assertEquals(0, app(p).admission().depth());
    }

    /**
     * Issue 27's case: every server answers 503, which is retryable; with a budget of 20 % and 3
     * a second, 100 requests reach the servers at most 120 + 3 × seconds times (200 without).
     */
    @Test
    void aHundredRequestsToFailingServersCostAtMostTheirBudget() throws Exception {
        Backend a = unavailable("a");
        Backend b = unavailable("b");
        long start = System.nanoTime();
        RunningProxy p = proxy("'retry_on': ['503'], 'retry_budget': {'percent': 20, 'min_per_second': 3}", a, b);
        for (int i = 0; i < 100; i++) {
            assertEquals(503, p.get("/x" + i).statusCode());
        }
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) + 2; // whole clock seconds touched
        int hits = a.hits.get() + b.hits.get();
        assertTrue(hits <= 120 + 3 * seconds, hits + " attempts over " + seconds + " clock seconds");
        assertTrue(hits < 200, "the budget cut retries: " + hits);
    }

    @Test
    void aQueuedRequestIsServedOnceTheServerFrees() throws Exception {
        Backend a = backend("a");
        RunningProxy p = proxy("'queue': {'size': 5, 'timeout': '20s'}", a);
        CompletableFuture<HttpResponse<String>> first = held(p, a);
        CompletableFuture<HttpResponse<String>> second = send(p, "/second");
        Http.await("the second request queued", Duration.ofSeconds(10), () -> app(p).admission().depth() == 1);
        assertEquals(1, a.hits.get(), "the queued request has not reached the server");
        a.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(200, second.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals("/second", a.seen.get(1).pathQuery());
        assertEquals(0, app(p).admission().depth());
        assertEquals(1, app(p).stats().waitCount());
    }

    /**
     * The only free server is down; a request queues behind the busy one. Setting the down one
     * up through the API lets the queued request in at once, long before its timeout, while
     * the busy server still holds its request.
     */
    @Test
    void aQueuedRequestGoesToAServerSetUpThroughTheApiAtOnce() throws Exception {
        Backend a = backend("a");
        Backend b = backend("b");
        RunningProxy p = proxy("'queue': {'size': 5, 'timeout': '20s'}", a, b);
        assertEquals(200, Http.send("PATCH", p.url("/api/upstreams/app/servers/1"), "application/json", "{\"down\": true}").statusCode());
        CompletableFuture<HttpResponse<String>> first = held(p, a);
        CompletableFuture<HttpResponse<String>> second = send(p, "/second");
        Http.await("the second request queued", Duration.ofSeconds(10), () -> app(p).admission().depth() == 1);
        long start = System.nanoTime();
        assertEquals(200, Http.send("PATCH", p.url("/api/upstreams/app/servers/1"), "application/json", "{\"down\": false}").statusCode());
        HttpResponse<String> r = second.get(10, TimeUnit.SECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("b", r.body());
        assertTrue(ms < 5000, "served when the server came up, not at the queue's timeout: " + ms + " ms");
        assertFalse(first.isDone(), "the busy server still holds its request");
        a.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(0, app(p).admission().depth());
    }

    /**
     * An ejection ends by the clock alone, with no event: a request queued behind the busy
     * server is let in when the ejected one comes back, while the busy one still holds its request.
     */
    @Test
    void aQueuedRequestGoesToAServerWhoseEjectionEnds() throws Exception {
        Backend a = backend("a");
        Backend b = unavailable("b");
        RunningProxy p = proxy("'queue': {'size': 5, 'timeout': '20s'}, 'outlier_detection': {'consecutive_errors': 1, "
                + "'base_ejection_time': '2s', 'max_ejection_percent': 50}", a, b);
        for (int i = 0; i < 2 && b.hits.get() == 0; i++) {
            p.get("/x" + i); // round robin: b answers one of the two, 503, and is ejected for 2 s
        }
        // the 503 reaches the client a moment before the exchange's end counts it
        Http.await("b ejected", Duration.ofSeconds(2), () -> "ejected".equals(app(p).servers().get(1).state()));
        b.status = 200;
        CompletableFuture<HttpResponse<String>> first = held(p, a);
        CompletableFuture<HttpResponse<String>> second = send(p, "/second");
        HttpResponse<String> r = second.get(10, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("b", r.body());
        assertFalse(first.isDone(), "the busy server still holds its request");
        a.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
    }

    @Test
    void aRequestThatWaitsOutTheQueueTimeoutGets503AndNoServerIsBlamed() throws Exception {
        Backend a = backend("a");
        RunningProxy p = proxy("'queue': {'size': 5, 'timeout': '300ms'}", a);
        CompletableFuture<HttpResponse<String>> first = held(p, a);
        long start = System.nanoTime();
        HttpResponse<String> r = send(p, "/second").get(10, TimeUnit.SECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(503, r.statusCode(), r.body());
        assertEquals("QueueTimeout", error(r).get("code").getAsString(), r.body());
        assertTrue(ms >= 250 && ms < 5000, "answered at the queue's timeout: " + ms + " ms");
        a.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(1, a.hits.get(), "the timed-out request never reached the server");
        assertEquals(0, app(p).servers().get(0).stats().fails());
        assertEquals("up", app(p).servers().get(0).state());
        assertEquals(1, app(p).stats().queueTimeoutCount());
        String metrics = p.get("/metrics").body();
        assertTrue(metrics.contains("upstream_proxy_queue_refused_total{reason=\"timeout\",upstream=\"app\"} 1.0"), metrics);
    }

    @Test
    void aFullQueueAnswersQueueFullAtOnce() throws Exception {
        Backend a = backend("a");
        RunningProxy p = proxy("'queue': {'size': 1, 'timeout': '20s'}", a);
        CompletableFuture<HttpResponse<String>> first = held(p, a);
        CompletableFuture<HttpResponse<String>> queued = send(p, "/queued");
        Http.await("one request queued", Duration.ofSeconds(10), () -> app(p).admission().depth() == 1);
        HttpResponse<String> r = send(p, "/third").get(5, TimeUnit.SECONDS);
        assertEquals(503, r.statusCode());
        assertEquals("QueueFull", error(r).get("code").getAsString(), r.body());
        a.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(200, queued.get(10, TimeUnit.SECONDS).statusCode());
        JsonObject queue = JsonParser.parseString(Http.get(p.url("/api/upstreams/app")).body()).getAsJsonObject()
                .getAsJsonObject("overload").getAsJsonObject("queue");
        assertEquals(1, queue.get("full").getAsInt(), queue.toString());
        assertEquals(0, queue.get("depth").getAsInt(), queue.toString());
    }

    /** At proxy.max_connections_per_server a request waits in the connection pool; the upstream's queue.timeout ends that wait too. */
    @Test
    void aWaitForAPooledConnectionEndsAtTheQueueTimeout() throws Exception {
        Backend a = backend("a");
        RunningProxy p = RunningProxy.start(("{'proxy': {'max_connections_per_server': 1}, 'upstreams': {'app': {"
                + "'queue': {'size': 5, 'timeout': '300ms'}, 'servers': [{'server': '" + a.address() + "'}]}}}").replace('\'', '"'));
        open.add(p);
        CompletableFuture<HttpResponse<String>> first = held(p, a);
        long start = System.nanoTime();
        HttpResponse<String> r = send(p, "/second").get(10, TimeUnit.SECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(503, r.statusCode(), r.body());
        assertTrue(r.body().contains("queue.timeout 300ms"), r.body());
        assertTrue(ms >= 250 && ms < 5000, "answered at the queue's timeout: " + ms + " ms");
        a.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(1, a.hits.get(), "the request that timed out never reached the server");
        assertEquals(0, app(p).servers().get(0).stats().fails());
        assertEquals(200, p.get("/after").statusCode(), "the pool's connection is free for the next request");
    }

    @Test
    void maxRequestsRefusesAtOnceWithUpstreamOverloaded() throws Exception {
        Backend a = backend("a");
        Backend b = backend("b");
        RunningProxy p = proxy("'max_requests': 1, 'queue': {'size': 5, 'timeout': '20s'}", a, b);
        a.holdRequests(1);
        b.holdRequests(1);
        CompletableFuture<HttpResponse<String>> first = send(p, "/first");
        Http.await("the first request at a server", Duration.ofSeconds(10), () -> a.hits.get() + b.hits.get() == 1);
        HttpResponse<String> r = send(p, "/second").get(5, TimeUnit.SECONDS);
        assertEquals(503, r.statusCode());
        assertEquals("UpstreamOverloaded", error(r).get("code").getAsString(), r.body());
        a.release();
        b.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(1, app(p).stats().overloadedCount());
        assertTrue(p.get("/metrics").body().contains("upstream_proxy_overloaded_total{upstream=\"app\"} 1.0"));
    }

    /**
     * An HTTP/2 client resets its stream while queued: the request leaves the queue at once (its
     * timeout is far off) and the server never sees it.
     */
    @Test
    void aClientThatResetsItsStreamLeavesTheQueueAtOnce() throws Exception {
        Backend a = backend("a");
        RunningProxy p = proxy("'queue': {'size': 5, 'timeout': '60s'}", a);
        CompletableFuture<HttpResponse<String>> first = held(p, a);
        HTTP2Client h2 = new HTTP2Client();
        h2.start();
        open.add(h2::stop);
        Session session = h2.connect(new InetSocketAddress("127.0.0.1", p.port()), new Session.Listener() { }).get(5, TimeUnit.SECONDS);
        MetaData.Request request = new MetaData.Request("GET", HttpURI.from("http://127.0.0.1:" + p.port() + "/leaving"), HttpVersion.HTTP_2, HttpFields.EMPTY);
        Stream stream = session.newStream(new HeadersFrame(request, null, true), new Stream.Listener() { }).get(5, TimeUnit.SECONDS);
        Http.await("the HTTP/2 request queued", Duration.ofSeconds(10), () -> app(p).admission().depth() == 1);
        stream.reset(new ResetFrame(stream.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
        Http.await("the reset request left the queue", Duration.ofSeconds(10), () -> app(p).admission().depth() == 0);
        a.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(200, p.get("/after").statusCode(), "the server is free for the next request");
        assertEquals(List.of("/first", "/after"), a.seen.stream().map(Backend.Seen::pathQuery).toList(), "the server never saw it");
        assertEquals(0, app(p).stats().queueTimeoutCount());
        // the last request's server is released as its exchange ends, a moment after its answer left
        Http.await("nothing in flight", Duration.ofSeconds(10), () -> app(p).admission().inFlight() == 0);
    }

    /**
     * An HTTP/1.1 client closes its connection while its request is queued: in the jar the
     * request leaves the queue at once (its timeout is far off), logged 499, and the server never
     * sees it. A servlet container does not tell: there it waits out its timeout (docs/overload.md).
     */
    @Test
    void anHttp11ClientThatClosesItsConnectionLeavesTheQueueAtOnce() throws Exception {
        Backend a = backend("a");
        RunningProxy p = proxy("'queue': {'size': 5, 'timeout': '60s'}", a);
        assumeTrue(p.coreFrontEnd(), "the jar's listener watches a waiting request's socket; a container's does not");
        CompletableFuture<HttpResponse<String>> first = held(p, a);
        try (RawHttp leaving = RawHttp.connect(p.port())) {
            leaving.send("GET /leaving HTTP/1.1\r\nHost: h\r\n\r\n");
            Http.await("the HTTP/1.1 request queued", Duration.ofSeconds(10), () -> app(p).admission().depth() == 1);
        }
        Http.await("the closed client's request left the queue", Duration.ofSeconds(10), () -> app(p).admission().depth() == 0);
        a.release();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(200, p.get("/after").statusCode(), "the server is free for the next request");
        assertEquals(List.of("/first", "/after"), a.seen.stream().map(Backend.Seen::pathQuery).toList(), "the server never saw it");
        assertEquals(0, app(p).stats().queueTimeoutCount());
    }

    /** A client that sends its next request while the last one is queued (pipelining) has not left: both are served. */
    @Test
    void aPipelinedRequestBehindAQueuedOneIsNotTakenForTheClientLeaving() throws Exception {
        Backend a = backend("a");
        RunningProxy p = proxy("'queue': {'size': 5, 'timeout': '60s'}", a);
        CompletableFuture<HttpResponse<String>> first = held(p, a);
        try (RawHttp client = RawHttp.connect(p.port())) {
            client.send("GET /queued HTTP/1.1\r\nHost: h\r\n\r\n");
            Http.await("the request queued", Duration.ofSeconds(10), () -> app(p).admission().depth() == 1);
            client.send("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
            a.release();
            assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
            assertEquals(200, client.read().status());
            assertEquals(200, client.read().status());
        }
        assertEquals(List.of("/first", "/queued", "/next"), a.seen.stream().map(Backend.Seen::pathQuery).toList());
    }

    @Test
    void a503GoesToAnotherServerWhenRetryOnHasIt() throws Exception {
        Backend failing = unavailable("failing");
        Backend ok = backend("ok");
        RunningProxy p = proxy("'retry_on': ['connect', '503']", failing, ok);
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = p.get("/x" + i);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("ok", r.body());
        }
        assertTrue(failing.hits.get() >= 1, "round robin sent some requests to the failing server first");
        assertEquals(failing.hits.get(), app(p).stats().retries());
        assertEquals(0, app(p).servers().get(0).stats().fails(), "a 503 is an answer, not a failure to reach the server");
    }

    @Test
    void without503InRetryOnTheAnswerPassesThrough() throws Exception {
        Backend failing = unavailable("failing");
        Backend ok = backend("ok");
        RunningProxy p = proxy("'balancer': 'round-robin'", failing, ok);
        int unavailable = 0;
        for (int i = 0; i < 4; i++) {
            unavailable += p.get("/x" + i).statusCode() == 503 ? 1 : 0;
        }
        assertEquals(2, unavailable);
        assertEquals(0, app(p).stats().retries());
    }

    @Test
    void theRetryBudgetCapsRetriesWhenEveryServerFails() throws Exception {
        Backend a = unavailable("a");
        Backend b = unavailable("b");
        long start = System.nanoTime(); // the budget's minimum grows by one a second from the proxy's start
        RunningProxy p = proxy("'retry_on': ['503'], 'retry_budget': {'percent': 0, 'min_per_second': 1}", a, b);
        for (int i = 0; i < 10; i++) {
            assertEquals(503, p.get("/x" + i).statusCode());
        }
        // The budget counts whole clock seconds: t seconds of test touch at most t + 2 of them.
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) + 2;
        int hits = a.hits.get() + b.hits.get();
        assertTrue(seconds < 8, "too slow a machine to tell the budget from no budget: " + seconds + " s");
        assertTrue(hits >= 10 && hits <= 10 + seconds, "10 requests and at most a retry a clock second over " + seconds + " of them, not 20: " + hits);
        assertEquals(20 - hits, app(p).stats().budgetExhaustedCount(), "every retry refused is counted");
        assertTrue(p.get("/metrics").body().contains("upstream_proxy_retry_budget_exhausted_total{upstream=\"app\"}"));
    }
}
