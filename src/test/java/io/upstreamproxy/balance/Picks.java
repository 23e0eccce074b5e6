package io.upstreamproxy.balance;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Helpers to run many picks and look at what came out. */
final class Picks {
    private Picks() {}

    /** Options with a seeded random source and a clock stuck at 0. */
    static BalancerOptions seeded(String hashKey, long seed) {
        return new BalancerOptions(hashKey, () -> 0L, new SplittableRandom(seed));
    }

    static Balancer<FakeEndpoint> create(String name, String hashKey, List<FakeEndpoint> endpoints) {
        Balancer<FakeEndpoint> b = Balancers.create(name, seeded(hashKey, 42));
        b.update(endpoints);
        return b;
    }

    /** The names of n successive picks, joined by spaces. */
    static String sequence(Balancer<FakeEndpoint> b, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : " ").append(b.pick(RequestInfo.NONE, FakeEndpoint.USABLE));
        }
        return sb.toString();
    }

    /** How many of n picks went to each endpoint name, in endpoint order. */
    static Map<String, Integer> counts(Balancer<FakeEndpoint> b, List<FakeEndpoint> endpoints, int n, RequestInfo request) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        endpoints.forEach(e -> counts.put(e.name, 0));
        for (int i = 0; i < n; i++) {
            counts.merge(b.pick(request, FakeEndpoint.USABLE).name, 1, Integer::sum);
        }
        return counts;
    }

    /** A request carrying only the given header (matched without regard to case). */
    static RequestInfo header(String name, String value) {
        return new RequestInfo() {
            @Override
            public String header(String n) {
                return n.equalsIgnoreCase(name) ? value : null;
            }
        };
    }

    static RequestInfo client(String address) {
        return new RequestInfo() {
            @Override
            public String clientAddress() {
                return address;
            }
        };
    }

    static RequestInfo path(String path) {
        return new RequestInfo() {
            @Override
            public String path() {
                return path;
            }
        };
    }

    static RequestInfo cookie(String name, String value) {
        return new RequestInfo() {
            @Override
            public String cookie(String n) {
                return n.equals(name) ? value : null;
            }
        };
    }

    static RequestInfo query(String name, String value) {
        return new RequestInfo() {
            @Override
            public String query(String n) {
                return n.equals(name) ? value : null;
            }
        };
    }
}
