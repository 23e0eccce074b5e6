package io.upstreamproxy.fleet;

import static io.upstreamproxy.fleet.FleetIT.config;
import static io.upstreamproxy.fleet.FleetIT.drained;
import static io.upstreamproxy.fleet.FleetIT.intent;
import static io.upstreamproxy.fleet.FleetIT.node;
import static io.upstreamproxy.fleet.FleetIT.patch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd goes away and comes back: proxying and reads go on, writes are refused, and everyone converges on etcd's state. */
class FleetOutageIT {
    @TempDir
    Path dir;

    static int weight(RunningProxy p, int id) {
        return p.registry().get("backend").server(id).config().weight();
    }

    @Test
    void outageRefusesWritesKeepsServingAndConvergesOnEtcdsStateWhenItReturns() throws Exception {
        try (EtcdCluster etcd = EtcdCluster.start(1); Backend x = Backend.start("x"); Backend y = Backend.start("y")) {
            String prefix = "/outage/";
            String configA = config("a", dir.resolve("a.json"), etcd.endpointsJson(), prefix, x.address(), y.address());
            String configB = config("b", dir.resolve("b.json"), etcd.endpointsJson(), prefix, x.address(), y.address());
            try (RunningProxy a = FleetIT.joined(RunningProxy.start(configA))) {
                RunningProxy b = FleetIT.joined(RunningProxy.start(configB));
                try {
                    assertEquals(200, patch(a, 0, "{\"drain\": true}").statusCode());
                    Http.await("b drained server 0", FleetIT.WITHIN, () -> drained(b, 0));
                } finally {
                    b.close();
                }
                // while b is away, the fleet moves on: b's state file no longer has the last word
                assertEquals(200, patch(a, 1, "{\"weight\": 5}").statusCode());

                etcd.killAll();
                HttpResponse<String> first = patch(a, 1, "{\"weight\": 6}");
                // the first write may have reached a dying etcd: refused, or its outcome unknown, never 200
                assertTrue(first.statusCode() == 503 && first.body().contains("StoreUnavailable")
                        || first.statusCode() == 504 && first.body().contains("OutcomeUnknown"), first.body());
                HttpResponse<String> refused = patch(a, 1, "{\"weight\": 6}");
                assertEquals(503, refused.statusCode(), refused.body());
                assertTrue(refused.body().contains("StoreUnavailable"), refused.body());
                assertEquals(5, weight(a, 1), "a refused write changed nothing");
                assertEquals(200, a.get("/api/upstreams/backend").statusCode());
                Http.await("GET /api/fleet tells etcd is unreachable", Duration.ofSeconds(3),
                        () -> FleetIT.fleetStatus(a).equals("unreachable"));
                int before = y.hits.get();
                for (int i = 0; i < 5; i++) {
                    assertEquals(200, a.get("/").statusCode());
                }
                assertEquals(before + 5, y.hits.get(), "a keeps proxying from memory");

                try (RunningProxy b2 = RunningProxy.start(configB)) {
                    assertTrue(drained(b2, 0), "b restarted while etcd was down serves its state file");
                    assertEquals(1, weight(b2, 1), "the state file's weight, before etcd tells otherwise");
                    assertEquals(503, patch(b2, 1, "{\"weight\": 7}").statusCode());
                    assertEquals(200, b2.get("/").statusCode());

                    etcd.restart();
                    Http.await("b converges on etcd's state", Duration.ofSeconds(10), () -> weight(b2, 1) == 5);
                    Http.await("b in sync", Duration.ofSeconds(10), () -> node(b2).connected());
                    Http.await("a's watch is back", Duration.ofSeconds(10), () -> FleetIT.fleetStatus(a).equals("connected"));
                    HttpResponse<String> ok = patch(b2, 1, "{\"weight\": 8}");
                    assertEquals(200, ok.statusCode(), ok.body());
                    Http.await("a applies b's write after the outage", Duration.ofSeconds(5), () -> weight(a, 1) == 8);
                    Map<Integer, String> expected = intent(a);
                    assertEquals(expected, intent(b2));
                    assertEquals(200, patch(a, 0, "{\"drain\": false}").statusCode());
                    Http.await("b applies a's write within a second", FleetIT.WITHIN, () -> !drained(b2, 0));
                }
            }
        }
    }
}
