package io.upstreamproxy.fleet;

import static io.upstreamproxy.fleet.FleetIT.config;
import static io.upstreamproxy.fleet.FleetIT.drained;
import static io.upstreamproxy.fleet.FleetIT.joined;
import static io.upstreamproxy.fleet.FleetIT.node;
import static io.upstreamproxy.fleet.FleetIT.patch;
import static io.upstreamproxy.fleet.FleetIT.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A write's answer tells the truth under faults (issue 31): a refused write never lands later, a
 * stale instance never acknowledges a write etcd does not have, and a deleted address stays
 * deleted whatever the path to its deletion.
 */
class FleetFaultsIT {
    @TempDir
    Path dir;

    static HttpResponse<String> delete(RunningProxy p, int id) throws Exception {
        return Http.send("DELETE", p.url("/api/upstreams/backend/servers/" + id), null, null);
    }

    /** Values of one key through etcd's whole history. */
    static List<String> history(EtcdCluster etcd, String prefix, String key) throws Exception {
        return EtcdHistory.read(etcd.endpoints(), prefix).stream().filter(e -> e.key().equals(key))
                .map(e -> String.valueOf(e.value())).collect(Collectors.toList());
    }

    @Test
    void aWriteRefusedWhileTheQuorumIsFrozenNeverLandsAndLaterWritesWaitForItsOutcome() throws Exception {
        // followers frozen: the leader holds the write it cannot commit, and commits it when they return
        try (EtcdCluster etcd = EtcdCluster.startWithElectionTimeout(3, 5000); Backend x = Backend.start("x"); Backend y = Backend.start("y")) {
            String prefix = "/faults-frozen/";
            EtcdCluster.Member leader = etcd.leader();
            String endpoint = "[\"" + leader.clientUrl() + "\"]";
            try (RunningProxy a = joined(RunningProxy.start(config("a", dir.resolve("a.json"), endpoint, prefix, x.address(), y.address())))) {
                List<EtcdCluster.Member> followers = List.of(etcd.member(0), etcd.member(1), etcd.member(2)).stream()
                        .filter(m -> m != leader).toList();
                for (EtcdCluster.Member f : followers) {
                    f.signal("STOP");
                }
                HttpResponse<String> first;
                try {
                    first = patch(a, 0, "{\"drain\": true}");
                } finally {
                    for (EtcdCluster.Member f : followers) {
                        f.signal("CONT");
                    }
                }
                assertTrue(first.statusCode() == 503 || first.statusCode() == 504, first.body());
                // refused (503, not sent) until the first is settled: briefly, once the followers are back
                long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
                HttpResponse<String> second;
                do {
                    second = patch(a, 0, "{\"drain\": false}");
                } while (second.statusCode() == 503 && System.nanoTime() < until);
                assertEquals(200, second.statusCode(), second.body());
                Http.await("a runs its last acknowledged write", Duration.ofSeconds(5), () -> !drained(a, 0));
                List<String> values = history(etcd, prefix, "upstreams/backend/servers/0");
                assertTrue(values.get(values.size() - 1).contains("\"drain\":false"), "etcd's last value: " + values);
                if (first.statusCode() == 503) {
                    assertTrue(values.stream().noneMatch(v -> v.contains("\"drain\":true")),
                            "answered 503 (" + first.body() + ") yet applied: " + values);
                } else {
                    assertTrue(first.body().contains("OutcomeUnknown"), first.body());
                }
            }
        }
    }

    static boolean sameState(RunningProxy a, RunningProxy b) {
        return FleetIT.changes(a).state().equals(FleetIT.changes(b).state());
    }

    @Test
    void aWriteCommittedWhileTheLeaderIsReplacedReachesEveryInstanceWithinOneSecond() throws Exception {
        try (EtcdCluster etcd = EtcdCluster.start(3); Backend x = Backend.start("x"); Backend y = Backend.start("y")) {
            String prefix = "/faults-leader/";
            try (RunningProxy a = joined(RunningProxy.start(config("a", dir.resolve("a.json"), etcd.endpointsJson(), prefix, x.address(), y.address())));
                 RunningProxy b = joined(RunningProxy.start(config("b", dir.resolve("b.json"), etcd.endpointsJson(), prefix, x.address(), y.address())));
                 RunningProxy c = joined(RunningProxy.start(config("c", dir.resolve("c.json"), etcd.endpointsJson(), prefix, x.address(), y.address())))) {
                List<Long> millis = new java.util.ArrayList<>();
                for (int round = 1; round <= 3; round++) {
                    EtcdCluster.Member leader = etcd.leader();
                    leader.kill(); // watches on it break; the others' refuse watches until a new leader is elected
                    int weight = 10 + round;
                    HttpResponse<String> r;
                    do {
                        r = patch(a, 1, "{\"weight\": " + weight + "}");
                    } while (r.statusCode() == 503 || r.statusCode() == 504); // until the election is over
                    assertEquals(200, r.statusCode(), r.body());
                    long acknowledged = System.nanoTime();
                    Http.await("b and c apply a's write within a second of its 200", FleetIT.WITHIN,
                            () -> FleetOutageIT.weight(b, 1) == weight && FleetOutageIT.weight(c, 1) == weight);
                    millis.add((System.nanoTime() - acknowledged) / 1_000_000);
                    etcd.restart();
                }
                System.out.println("FleetFaultsIT: applied by b and c after a's 200 around a leader change, ms: " + millis);
            }
        }
    }

    @Test
    void aStaleInstanceConfirmsAWriteThatChangesNothingInItsMemoryAgainstEtcd() throws Exception {
        try (EtcdCluster etcd = EtcdCluster.start(1); Backend x = Backend.start("x"); Backend y = Backend.start("y")) {
            String prefix = "/faults-stale/";
            try (RunningProxy a = joined(RunningProxy.start(config("a", dir.resolve("a.json"), etcd.endpointsJson(), prefix, x.address(), y.address())));
                 RunningProxy b = joined(RunningProxy.start(config("b", dir.resolve("b.json"), etcd.endpointsJson(), prefix, x.address(), y.address())))) {
                assertEquals(200, patch(a, 0, "{\"drain\": false}").statusCode()); // set explicitly: the same again changes nothing
                Http.await("b has a's write", Duration.ofSeconds(3), () -> sameState(a, b));
                node(b).pauseWatch(); // b misses what follows, as an instance cut off from the watch would
                assertEquals(200, patch(a, 0, "{\"drain\": true}").statusCode());
                assertTrue(!drained(b, 0), "b is stale");

                HttpResponse<String> r = patch(b, 0, "{\"drain\": false}");
                assertEquals(200, r.statusCode(), r.body());
                List<String> values = history(etcd, prefix, "upstreams/backend/servers/0");
                assertTrue(values.get(values.size() - 1).contains("\"drain\":false"), "b answered 200, etcd has " + values);
                Http.await("a applies b's write", Duration.ofSeconds(3), () -> !drained(a, 0));

                assertEquals(200, patch(a, 0, "{\"drain\": true}").statusCode());
                assertTrue(!drained(b, 0), "b is stale again");
                etcd.killAll();
                HttpResponse<String> unconfirmed = patch(b, 0, "{\"drain\": false}");
                assertNotEquals(200, unconfirmed.statusCode(), "a stale instance acknowledged a write with etcd down: " + unconfirmed.body());
                assertEquals(503, unconfirmed.statusCode(), unconfirmed.body());
            }
        }
    }

    @Test
    void anAddressDeletedThroughTheApiStaysDeletedWhenAnInstanceJoinsWithItInItsConfig() throws Exception {
        try (EtcdCluster etcd = EtcdCluster.start(1); Backend x = Backend.start("x"); Backend y = Backend.start("y")) {
            String prefix = "/faults-deleted/";
            String configB = config("b", dir.resolve("b.json"), etcd.endpointsJson(), prefix, x.address(), y.address());
            try (RunningProxy a = joined(RunningProxy.start(config("a", dir.resolve("a.json"), etcd.endpointsJson(), prefix, x.address(), y.address())))) {
                assertEquals(200, delete(a, 1).statusCode()); // y, a configured server
                HttpResponse<String> added = post(a, y.address());
                assertEquals(201, added.statusCode(), added.body());
                int id = JsonParser.parseString(added.body()).getAsJsonObject().get("id").getAsInt();
                assertEquals(200, delete(a, id).statusCode()); // y again, now a server the API added

                try (RunningProxy b = joined(RunningProxy.start(configB))) {
                    assertTrue(b.registry().get("backend").server(HostPort.parse(y.address())) == null, "b runs the deleted " + y.address());
                }
                String removedKey = "upstreams/backend/removed/" + y.address();
                List<EtcdHistory.Event> events = EtcdHistory.read(etcd.endpoints(), prefix);
                EtcdHistory.Event last = events.stream().filter(e -> e.key().equals(removedKey)).reduce((p, q) -> q).orElse(null);
                assertTrue(last != null && last.value() != null, "etcd does not remember " + y.address() + " as removed: " + events);
                assertTrue(events.stream().noneMatch(e -> e.revision() > last.revision() && e.value() != null
                                && e.key().contains("/servers/") && e.value().contains(y.address())),
                        "the deleted " + y.address() + " came back: " + events);
                assertTrue(a.registry().get("backend").server(HostPort.parse(y.address())) == null);

                // the operator brings it back on purpose: POST it again
                assertEquals(201, post(a, y.address()).statusCode());
            }
        }
    }
}
