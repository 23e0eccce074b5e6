package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class ConsistentHashTest {
    private static final int KEYS = 20_000;

    @Test
    void sameHeaderValueAlwaysGoesToTheSameServer() {
        assertSticky("header:X-User", k -> Picks.header("x-user", k)); // header names ignore case
    }

    @Test
    void sameCookieGoesToTheSameServer() {
        assertSticky("cookie:session", k -> Picks.cookie("session", k));
    }

    @Test
    void sameQueryParameterGoesToTheSameServer() {
        assertSticky("query:user", k -> Picks.query("user", k));
    }

    @Test
    void samePathGoesToTheSameServer() {
        assertSticky("path", k -> Picks.path("/" + k));
    }

    @Test
    void sameClientAddressGoesToTheSameServer() {
        assertSticky("remote_addr", k -> {
            int n = Integer.parseInt(k.substring("user".length()));
            return Picks.client("10.0." + n / 256 + "." + n % 256);
        });
    }

    /** Each key maps to one server, whatever the interleaving; different keys reach every server. */
    private static void assertSticky(String hashKey, Function<String, RequestInfo> request) {
        List<FakeEndpoint> list = FakeEndpoint.servers(5);
        Balancer<FakeEndpoint> b = Picks.create("consistent-hash", hashKey, list);
        Map<String, FakeEndpoint> first = new HashMap<>();
        for (int round = 0; round < 3; round++) {
            for (int k = 0; k < 300; k++) {
                String key = "user" + k;
                FakeEndpoint e = b.pick(request.apply(key), FakeEndpoint.USABLE);
                assertSame(first.computeIfAbsent(key, x -> e), e, key);
            }
        }
        assertEquals(5, first.values().stream().distinct().count(), "keys spread over every server");
    }

    @Test
    void requestWithoutTheKeyFallsBackToRoundRobin() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(2, 1);
        Balancer<FakeEndpoint> b = Picks.create("consistent-hash", "header:X-User", list);
        assertEquals("a b a a b a", Picks.sequence(b, 6));
        assertEquals("a b a", String.join(" ", List.of(
                b.pick(Picks.header("X-User", ""), FakeEndpoint.USABLE).name, // empty counts as missing, as nginx
                b.pick(Picks.header("X-Other", "1"), FakeEndpoint.USABLE).name,
                b.pick(RequestInfo.NONE, FakeEndpoint.USABLE).name)));
    }

    @Test
    void keysSpreadInProportionToWeight() {
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 2, 3, 4);
        Balancer<FakeEndpoint> b = Picks.create("consistent-hash", "path", list);
        Map<FakeEndpoint, Integer> counts = assign(b, list);
        for (FakeEndpoint e : list) {
            double share = counts.get(e) / (double) KEYS;
            assertEquals(e.weight / 10.0, share, 0.03, e.name);
        }
    }

    @Test
    void removingOneOfTenServersMovesOnlyItsKeys() {
        List<FakeEndpoint> list = FakeEndpoint.servers(10);
        Balancer<FakeEndpoint> b = Picks.create("consistent-hash", "path", list);
        Map<String, FakeEndpoint> before = mapping(b);
        FakeEndpoint removed = list.get(3);
        List<FakeEndpoint> fewer = new ArrayList<>(list);
        fewer.remove(removed);
        b.update(fewer);
        int moved = moved(before, mapping(b), (from, to) -> from == removed);
        assertEquals(KEYS / 10.0, moved, KEYS * 0.03, "about 1/N of the keys move");
    }

    @Test
    void addingAServerTakesAboutOneNthOfTheKeysAndOnlyForItself() {
        List<FakeEndpoint> list = FakeEndpoint.servers(10);
        Balancer<FakeEndpoint> b = Picks.create("consistent-hash", "path", list.subList(0, 9));
        Map<String, FakeEndpoint> before = mapping(b);
        b.update(list);
        int moved = moved(before, mapping(b), (from, to) -> to == list.get(9));
        assertEquals(KEYS / 10.0, moved, KEYS * 0.03, "about 1/N of the keys move");
    }

    @Test
    void unusableServersKeysSpreadOverTheOthersAndComeBackAfter() {
        List<FakeEndpoint> list = FakeEndpoint.servers(10);
        Balancer<FakeEndpoint> b = Picks.create("consistent-hash", "path", list);
        Map<String, FakeEndpoint> before = mapping(b);
        FakeEndpoint down = list.get(5);
        down.usable = false;
        Map<String, FakeEndpoint> during = mapping(b);
        Map<FakeEndpoint, Integer> heirs = new HashMap<>();
        for (String k : before.keySet()) {
            if (before.get(k) == down) {
                heirs.merge(during.get(k), 1, Integer::sum);
            } else {
                assertSame(before.get(k), during.get(k), "others keep their keys: " + k);
            }
        }
        assertEquals(9, heirs.size(), "a down server's keys spread over all the others, not onto one");
        down.usable = true;
        assertEquals(before, mapping(b));
    }

    @Test
    void ringDoesNotDependOnListOrder() {
        List<FakeEndpoint> list = FakeEndpoint.servers(7);
        Balancer<FakeEndpoint> b = Picks.create("consistent-hash", "path", list);
        Map<String, FakeEndpoint> forward = mapping(b);
        List<FakeEndpoint> reversed = new ArrayList<>(list);
        java.util.Collections.reverse(reversed);
        b.update(reversed);
        assertEquals(forward, mapping(b));
    }

    @Test
    void raisingAWeightMovesKeysOnlyToThatServer() {
        List<FakeEndpoint> list = FakeEndpoint.servers(5);
        Balancer<FakeEndpoint> b = Picks.create("consistent-hash", "path", list);
        Map<String, FakeEndpoint> before = mapping(b);
        list.get(2).weight = 2;
        b.update(list);
        int moved = moved(before, mapping(b), (from, to) -> to == list.get(2));
        assertTrue(moved > KEYS / 10, "weight 2 of 6 takes about 1/6 of the keys more: " + moved);
    }

    @Test
    void mappingIsStableAcrossInstances() {
        // Same inputs, a fresh balancer (as after a restart, or on another proxy): same answers.
        List<FakeEndpoint> list = FakeEndpoint.servers(8);
        assertEquals(mapping(Picks.create("consistent-hash", "path", list)),
                mapping(Picks.create("consistent-hash", "path", list)));
        assertEquals("10.0.0.2:80", Picks.create("consistent-hash", "path", list).pick(Picks.path("/users/42"), FakeEndpoint.USABLE).name,
                "fixed hash functions: this answer must not change between releases");
    }

    @Test
    void largeWeightsAreCappedButStayProportional() {
        List<FakeEndpoint> list = FakeEndpoint.servers(1000);
        list.forEach(e -> e.weight = 1000);
        list.get(0).weight = 500;
        HashRing<FakeEndpoint> ring = HashRing.build(list);
        assertTrue(ring.points() <= HashRing.MAX_POINTS + 1000, "points " + ring.points());
        assertNotEquals(0, ring.points());
    }

    /** How many keys changed server; each move must be one that {@code allowed(from, to)} accepts. */
    private static int moved(Map<String, FakeEndpoint> before, Map<String, FakeEndpoint> after,
                             BiPredicate<FakeEndpoint, FakeEndpoint> allowed) {
        int moved = 0;
        for (String k : before.keySet()) {
            FakeEndpoint from = before.get(k);
            FakeEndpoint to = after.get(k);
            if (from != to) {
                moved++;
                assertTrue(allowed.test(from, to), k + " moved from " + from + " to " + to);
            }
        }
        return moved;
    }

    private static Map<String, FakeEndpoint> mapping(Balancer<FakeEndpoint> b) {
        Map<String, FakeEndpoint> m = new HashMap<>();
        for (int k = 0; k < KEYS; k++) {
            m.put("/k" + k, b.pick(Picks.path("/k" + k), FakeEndpoint.USABLE));
        }
        return m;
    }

    private static Map<FakeEndpoint, Integer> assign(Balancer<FakeEndpoint> b, List<FakeEndpoint> list) {
        Map<FakeEndpoint, Integer> counts = new HashMap<>();
        list.forEach(e -> counts.put(e, 0));
        mapping(b).values().forEach(e -> counts.merge(e, 1, Integer::sum));
        return counts;
    }
}
