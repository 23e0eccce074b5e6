package io.upstreamproxy.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.balance.Endpoint;
import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.state.MemoryStateStore;
import io.upstreamproxy.testing.ManualClock;
import io.upstreamproxy.upstream.ChangeApplier;
import io.upstreamproxy.upstream.NameStatus;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DnsServersTest {
    final ManualClock clock = new ManualClock();
    /** What the fake nameserver answers per name; a missing name fails like a dead resolver. */
    final Map<String, NameResolver.Answer> answers = new ConcurrentHashMap<>();
    final AtomicInteger lookups = new AtomicInteger();
    final NameResolver fake = host -> {
        lookups.incrementAndGet();
        NameResolver.Answer a = answers.get(host);
        if (a == null) {
            throw new NameResolver.Failure(host + ": timed out (fake)");
        }
        return a;
    };
    final DnsServers dns = new DnsServers(ns -> fake, clock, false);
    final MemoryStateStore store = new MemoryStateStore();
    final UpstreamRegistry registry = UpstreamRegistry.empty(clock);

    static ProxyConfig config(String resolve) {
        return ConfigLoader.parse("{\"upstreams\": {\"web\": {" + resolve + "\"servers\": ["
                + "{\"server\": \"127.0.0.1:9000\"}, {\"server\": \"web.test:8080\", \"weight\": 3, \"slow_start\": \"10s\"}]}}}", null);
    }

    void answer(Duration ttl, String... addresses) {
        answers.put("web.test", new NameResolver.Answer(List.of(addresses), ttl));
    }

    ChangeApplier start(ProxyConfig c) {
        ChangeApplier changes = ChangeApplier.restore(registry, dns.start(c), store);
        dns.publishTo(registry, changes::reload);
        return changes;
    }

    List<String> servers() {
        return registry.get("web").servers().stream().map(s -> s.id() + "=" + s.key()).toList();
    }

    @Test
    void eachAddressIsAServerOfItsOwnWithTheNamesSettingsAndAStableId() {
        answer(Duration.ofSeconds(60), "10.0.0.2", "10.0.0.1");
        start(config("\"resolve\": \"30s\", "));
        assertEquals(List.of("0=127.0.0.1:9000", "1=10.0.0.1:8080", "2=10.0.0.2:8080"), servers());
        assertEquals(3, registry.get("web").server(1).config().weight());
        Server kept = registry.get("web").server(2);

        // 10.0.0.1 leaves, 10.0.0.3 joins: at the next interval, not before
        answer(Duration.ofSeconds(60), "10.0.0.2", "10.0.0.3");
        clock.advance(Duration.ofSeconds(29));
        dns.resolveDue();
        assertEquals(3, servers().size(), "not due yet");
        clock.advance(Duration.ofSeconds(1));
        dns.resolveDue();
        assertEquals(List.of("0=127.0.0.1:9000", "2=10.0.0.2:8080", "3=10.0.0.3:8080"), servers());
        assertSame(kept, registry.get("web").server(2), "the address that stays keeps its server, counters and id");
        assertEquals(1, registry.get("web").server(3).effectiveWeight(clock.nanos()), "a new address ramps over slow_start");
        assertEquals(3 * Endpoint.WEIGHT_SCALE, kept.effectiveWeight(clock.nanos()));
    }

    @Test
    void failuresKeepTheLastAddressesAndAreReported() {
        answer(Duration.ofSeconds(60), "10.0.0.1");
        start(config("\"resolve\": \"5s\", "));
        answers.clear();
        clock.advance(Duration.ofSeconds(5));
        dns.resolveDue();
        assertEquals(List.of("0=127.0.0.1:9000", "1=10.0.0.1:8080"), servers());
        NameStatus status = registry.get("web").names().get(0);
        assertEquals("web.test:8080", status.name());
        assertEquals(List.of("10.0.0.1"), status.addresses());
        assertEquals("web.test: timed out (fake)", status.lastError());
        assertTrue(status.okMillis() < status.attemptMillis());

        answer(Duration.ofSeconds(60), "10.0.0.1");
        clock.advance(Duration.ofSeconds(5));
        dns.resolveDue();
        assertNull(registry.get("web").names().get(0).lastError());
    }

    @Test
    void startUpProceedsWithoutAnAddressAndTheNameJoinsWhenItResolves() {
        start(config("\"resolve\": \"5s\", "));
        assertEquals(List.of("0=127.0.0.1:9000"), servers());
        answer(Duration.ofSeconds(60), "10.0.0.1");
        clock.advance(Duration.ofSeconds(5));
        dns.resolveDue();
        assertEquals(List.of("0=127.0.0.1:9000", "1=10.0.0.1:8080"), servers());
    }

    @Test
    void aShorterTtlBringsTheNextLookupForwardButNeverUnderOneSecond() {
        answer(Duration.ofSeconds(2), "10.0.0.1");
        start(config("\"resolve\": \"30s\", "));
        int after = lookups.get();
        clock.advance(Duration.ofSeconds(2));
        dns.resolveDue();
        assertEquals(after + 1, lookups.get(), "TTL 2s < resolve 30s: asked again after 2s");
        answer(Duration.ZERO, "10.0.0.1");
        clock.advance(Duration.ofSeconds(2));
        dns.resolveDue();
        clock.advance(Duration.ofMillis(500));
        dns.resolveDue();
        assertEquals(after + 2, lookups.get(), "TTL 0: not before a second");
    }

    @Test
    void idsOfResolvedAddressesSurviveARestartThroughTheStateFile() {
        answer(Duration.ofSeconds(60), "10.0.0.1", "10.0.0.2");
        start(config("\"resolve\": \"30s\", "));
        UpstreamRegistry again = UpstreamRegistry.empty(clock);
        answer(Duration.ofSeconds(60), "10.0.0.2", "10.0.0.9");
        DnsServers restarted = new DnsServers(ns -> fake, clock, false);
        ChangeApplier.restore(again, restarted.start(config("\"resolve\": \"30s\", ")), new MemoryStateStore(store.last()));
        assertEquals(List.of("0=127.0.0.1:9000", "2=10.0.0.2:8080", "3=10.0.0.9:8080"),
                again.get("web").servers().stream().map(s -> s.id() + "=" + s.key()).toList());
    }

    @Test
    void aNameThatDoesNotResolveAtARestartKeepsItsAddressesAndIdsFromTheStateFile() {
        answer(Duration.ofSeconds(60), "10.0.0.1", "10.0.0.2");
        start(config("\"resolve\": \"30s\", "));
        answers.clear(); // the resolver is down when the proxy restarts
        UpstreamRegistry again = UpstreamRegistry.empty(clock);
        DnsServers restarted = new DnsServers(ns -> fake, clock, false);
        ChangeApplier.restore(again, restarted.start(config("\"resolve\": \"30s\", "), store.last()), new MemoryStateStore(store.last()));
        assertEquals(List.of("0=127.0.0.1:9000", "1=10.0.0.1:8080", "2=10.0.0.2:8080"),
                again.get("web").servers().stream().map(s -> s.id() + "=" + s.key()).toList());
    }

    @Test
    void aReloadThatAddsAResolvedNameResolvesItAtOnce() {
        ChangeApplier changes = start(ConfigLoader.parse("{\"upstreams\": {\"web\": {\"servers\": [{\"server\": \"127.0.0.1:9000\"}]}}}", null));
        answer(Duration.ofSeconds(60), "10.0.0.1");
        dns.reload(config("\"resolve\": \"30s\", "));
        assertEquals(List.of("0=127.0.0.1:9000", "1=10.0.0.1:8080"), servers());
        Upstream web = registry.get("web");
        assertEquals("web.test:8080", web.names().get(0).name());
        assertEquals(2, changes.state().upstream("web").nextId());
    }

    @Test
    void aNameWithoutResolveMustResolveNow() {
        ConfigException e = assertThrows(ConfigException.class, () -> DnsServers.checkNames(ConfigLoader.parse(
                "{\"upstreams\": {\"web\": {\"servers\": [{\"server\": \"no-such-host.invalid:80\"}]}}}", null)));
        assertTrue(e.getMessage().startsWith("upstreams.web.servers[0].server: \"no-such-host.invalid:80\" does not resolve: "), e.getMessage());
        DnsServers.checkNames(ConfigLoader.parse("{\"upstreams\": {\"web\": {\"resolve\": \"5s\", \"servers\": [{\"server\": \"no-such-host.invalid:80\"}]}}}", null));
        DnsServers.checkNames(ConfigLoader.parse("{\"upstreams\": {\"web\": {\"servers\": [{\"server\": \"localhost:80\"}]}}}", null));
    }
}
