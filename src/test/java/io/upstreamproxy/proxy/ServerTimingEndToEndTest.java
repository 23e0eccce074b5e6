package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** The API's latency, byte and downtime fields, measured through the real proxy on real backends. */
class ServerTimingEndToEndTest {
    @Test
    void apiShowsLatencyAndBodyBytesPerServer() throws Exception {
        try (Backend slow = Backend.start("slow");
             RunningProxy p = RunningProxy.start(("{'proxy': {'buffer_body': 16}, 'upstreams': {'web': {'servers': [{'server': '"
                     + slow.address() + "'}]}}}").replace('\'', '"'))) {
            slow.responseBody = new byte[10_000];
            slow.hold = new CountDownLatch(1);
            slow.arrived = new CountDownLatch(1);
            String body = "a streamed body, longer than buffer_body";
            var reply = Http.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(p.url("/up")))
                    .PUT(java.net.http.HttpRequest.BodyPublishers.ofString(body)));
            slow.arrived.await();
            Thread.sleep(30); // not a wait for a state: the backend's answer is delayed by at least this, and header_time must show it
            slow.hold.countDown();
            assertEquals(200, reply.get().statusCode());

            JsonObject s = JsonParser.parseString(p.get("/api/upstreams/web/servers/0").body()).getAsJsonObject();
            assertTrue(s.get("header_time").getAsDouble() >= 30, s.toString());
            assertTrue(s.get("response_time").getAsDouble() >= s.get("header_time").getAsDouble(), s.toString());
            assertEquals(body.length(), s.get("sent").getAsLong(), "streamed request body bytes");
            assertEquals(10_000, s.get("received").getAsLong(), "response body bytes");
            assertEquals(0, s.get("downtime").getAsLong());
            assertFalse(s.has("downstart"));
        }
    }

    @Test
    void passivelyFailedServerShowsDowntimeAndDownstart() throws Exception {
        try (Backend ok = Backend.start("ok");
             RunningProxy p = RunningProxy.start(("{'upstreams': {'web': {'servers': [{'server': '127.0.0.1:" + Backend.deadPort()
                     + "', 'fail_timeout': '1m'}, {'server': '" + ok.address() + "'}]}}}").replace('\'', '"'))) {
            assertEquals(200, p.get("/").statusCode());
            assertEquals(200, p.get("/").statusCode());
            JsonObject dead = JsonParser.parseString(p.get("/api/upstreams/web/servers/0").body()).getAsJsonObject();
            assertEquals("unavail", dead.get("state").getAsString());
            assertTrue(dead.has("downstart"), dead.toString());
            assertEquals(1, dead.get("fails").getAsLong());
        }
    }
}
