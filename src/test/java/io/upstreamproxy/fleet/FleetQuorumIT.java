package io.upstreamproxy.fleet;

import static io.upstreamproxy.fleet.FleetIT.config;
import static io.upstreamproxy.fleet.FleetIT.intent;
import static io.upstreamproxy.fleet.FleetIT.patch;
import static io.upstreamproxy.fleet.FleetIT.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A three-member etcd loses a member while writes go on: the quorum holds and no acknowledged write is lost. */
class FleetQuorumIT {
    @TempDir
    Path dir;

    @Test
    void losingOneOfThreeMembersLosesNoAcknowledgedWrite() throws Exception {
        try (EtcdCluster etcd = EtcdCluster.start(3); Backend x = Backend.start("x"); Backend y = Backend.start("y")) {
            String prefix = "/quorum/";
            try (RunningProxy a = RunningProxy.start(config("a", dir.resolve("a.json"), etcd.endpointsJson(), prefix, x.address(), y.address()));
                 RunningProxy b = RunningProxy.start(config("b", dir.resolve("b.json"), etcd.endpointsJson(), prefix, x.address(), y.address()))) {
                FleetIT.joined(a);
                FleetIT.joined(b);
                List<Integer> added = new ArrayList<>();
                int lastWeight = -1;
                int ok = 0;
                int refused = 0;
                List<Integer> unknown = new ArrayList<>(); // weights sent whose outcome is unknown
                int unknownPosts = 0;
                for (int i = 0; i < 60; i++) {
                    if (i == 20) {
                        etcd.member(0).kill();
                    }
                    RunningProxy p = i % 2 == 0 ? a : b;
                    HttpResponse<String> r = i % 4 == 3 ? post(p, "127.0.0.1:" + (30000 + i)) : patch(p, 1, "{\"weight\": " + (i + 1) + "}");
                    if (r.statusCode() == 503) {
                        refused++; // an election in progress; nothing was applied
                        continue;
                    }
                    if (r.statusCode() == 504) {
                        // sent, then the election: committed or not, the next write through p settles it first
                        assertTrue(r.body().contains("OutcomeUnknown"), r.body());
                        if (i % 4 == 3) {
                            unknownPosts++;
                        } else {
                            unknown.add(i + 1);
                        }
                        continue;
                    }
                    assertTrue(r.statusCode() == 200 || r.statusCode() == 201, r.body());
                    ok++;
                    if (r.statusCode() == 201) {
                        added.add(JsonParser.parseString(r.body()).getAsJsonObject().get("id").getAsInt());
                    } else {
                        lastWeight = i + 1;
                        unknown.clear(); // an unknown write before this one cannot land after it
                    }
                }
                assertTrue(ok >= 50, "acknowledged " + ok + ", refused " + refused);
                int expectedWeight = lastWeight;
                for (RunningProxy p : List.of(a, b)) {
                    Http.await("acknowledged writes applied", Duration.ofSeconds(3),
                            () -> (p.registry().get("backend").server(1).config().weight() == expectedWeight
                                            || unknown.contains(p.registry().get("backend").server(1).config().weight()))
                                    && added.stream().allMatch(id -> p.registry().get("backend").server(id) != null));
                }
                Map<Integer, String> expected = intent(a);
                assertEquals(expected, intent(b));
                assertTrue(expected.size() >= 2 + added.size() && expected.size() <= 2 + added.size() + unknownPosts, expected.toString());
            }
        }
    }
}
