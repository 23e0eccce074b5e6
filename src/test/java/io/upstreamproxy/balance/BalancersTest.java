package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BalancersTest {

    @Test
    void knowsEveryBuiltInByName() {
        assertTrue(Balancers.names().containsAll(List.of("round-robin", "unweighted-round-robin", "least-conn",
                "random-two", "ip-hash", "consistent-hash")), Balancers.names().toString());
    }

    @Test
    void findsAlgorithmsRegisteredThroughServiceLoader() {
        // src/test/resources/META-INF/services names FirstUsableBalancerProvider.
        assertTrue(Balancers.names().contains(FirstUsableBalancerProvider.NAME));
        List<FakeEndpoint> list = FakeEndpoint.weighted(1, 1, 1);
        Balancer<FakeEndpoint> b = Balancers.create(FirstUsableBalancerProvider.NAME, BalancerOptions.defaults());
        b.update(list);
        list.get(0).usable = false;
        assertEquals("b b b", Picks.sequence(b, 3));
    }

    @Test
    void builtInsWithoutAHashKeyRefuseOne() {
        BalancerOptionException e = assertThrows(BalancerOptionException.class,
                () -> Balancers.create("round-robin", BalancerOptions.of("path", System::nanoTime)));
        assertEquals("hash_key", e.option());
    }

    @Test
    void unknownNameListsTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Balancers.create("fastest", BalancerOptions.defaults()));
        assertTrue(e.getMessage().startsWith("\"fastest\" (expected one of: consistent-hash, first-usable, ip-hash, least-conn, "), e.getMessage());
    }

    @Test
    void consistentHashWithoutHashKeyNamesTheOption() {
        BalancerOptionException e = assertThrows(BalancerOptionException.class,
                () -> Balancers.create("consistent-hash", BalancerOptions.defaults()));
        assertEquals("hash_key", e.option());
        assertEquals("missing (expected: header:NAME, cookie:NAME, query:NAME, path or remote_addr)", e.getMessage());
    }

    @Test
    void malformedHashKeyNamesTheOption() {
        for (String bad : List.of("header:", "header:a b", "cookies:x", "PATH", "")) {
            BalancerOptionException e = assertThrows(BalancerOptionException.class, () -> HashKey.parse(bad), bad);
            assertEquals("hash_key", e.option());
        }
        assertEquals(new HashKey(HashKey.Kind.HEADER, "X-User"), HashKey.parse("header:X-User"));
        assertEquals("cookie:sid", HashKey.parse("cookie:sid").toString());
        assertEquals(new HashKey(HashKey.Kind.REMOTE_ADDR, null), HashKey.parse("remote_addr"));
    }

    @Test
    void sharedRandomIsSafeAcrossThreads() throws Exception {
        // ThreadLocalRandom behind one object: many threads draw without corrupting each other.
        var random = BalancerOptions.threadLocalRandom();
        Thread[] threads = new Thread[4];
        long[] sums = new long[threads.length];
        for (int t = 0; t < threads.length; t++) {
            int i = t;
            threads[t] = new Thread(() -> {
                for (int k = 0; k < 10_000; k++) {
                    sums[i] += random.nextInt(10);
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        for (long s : sums) {
            assertEquals(45_000, s, 3_000); // mean 4.5 per draw
        }
    }

    @Test
    void everyAlgorithmReturnsNullWhenNothingIsUsableOrTheListIsEmpty() {
        for (String name : List.of("round-robin", "unweighted-round-robin", "least-conn", "random-two", "ip-hash", "consistent-hash")) {
            Balancer<FakeEndpoint> empty = Picks.create(name, name.equals("consistent-hash") ? "path" : null, List.of());
            assertNull(empty.pick(Picks.path("/x"), FakeEndpoint.USABLE), name);
            List<FakeEndpoint> list = FakeEndpoint.servers(5);
            list.forEach(e -> e.usable = false);
            Balancer<FakeEndpoint> none = Picks.create(name, name.equals("consistent-hash") ? "path" : null, list);
            assertNull(none.pick(Picks.client("10.1.2.3"), FakeEndpoint.USABLE), name);
            assertNull(none.pick(Picks.path("/x"), FakeEndpoint.USABLE), name);
        }
    }

    @Test
    void everyAlgorithmFindsTheOneUsableServerAmongMany() {
        for (String name : List.of("round-robin", "unweighted-round-robin", "least-conn", "random-two", "ip-hash", "consistent-hash")) {
            List<FakeEndpoint> list = FakeEndpoint.servers(200);
            list.forEach(e -> e.usable = false);
            list.get(137).usable = true;
            Balancer<FakeEndpoint> b = Picks.create(name, name.equals("consistent-hash") ? "path" : null, list);
            for (int i = 0; i < 20; i++) {
                assertEquals(list.get(137), b.pick(Picks.path("/k" + i), FakeEndpoint.USABLE), name);
                assertEquals(list.get(137), b.pick(Picks.client("10.9." + i + ".1"), FakeEndpoint.USABLE), name);
            }
        }
    }
}
