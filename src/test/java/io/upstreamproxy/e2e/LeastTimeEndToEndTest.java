package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RunningProxy;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** least-time through the real proxy: of a slow and a fast backend, the fast one takes most of the traffic. */
class LeastTimeEndToEndTest {
    @Test
    void fastServerTakesMostOfTheTraffic() throws Exception {
        try (Backend slow = Backend.start("slow");
             Backend fast = Backend.start("fast");
             RunningProxy p = RunningProxy.start(("{'upstreams': {'web': {'balancer': 'least-time', 'servers': [{'server': '"
                     + slow.address() + "'}, {'server': '" + fast.address() + "'}]}}}").replace('\'', '"'))) {
            slow.delayMillis = 40;
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i < 40; i++) {
                HttpResponse<String> r = p.get("/");
                assertEquals(200, r.statusCode());
                counts.merge(r.body(), 1, Integer::sum);
            }
            int toSlow = counts.getOrDefault("slow", 0);
            assertTrue(toSlow >= 1, "the unmeasured slow server was tried: " + counts);
            assertTrue(toSlow <= 4, "after measuring, idle picks go to the fast one: " + counts);
            assertTrue(p.registry().get("web").server(0).stats().headerTime().nanos() >= 40_000_000L);
        }
    }
}
