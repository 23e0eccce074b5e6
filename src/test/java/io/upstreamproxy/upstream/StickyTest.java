package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class StickyTest {
    private final ManualClock clock = new ManualClock();

    private Upstream upstream(String sticky, int servers) {
        StringBuilder list = new StringBuilder();
        for (int i = 1; i <= servers; i++) {
            list.append(i == 1 ? "" : ", ").append("{'server': '127.0.0.1:").append(i).append("', 'max_conns': 1}");
        }
        String json = "{'upstreams': {'app': {'sticky': " + sticky + ", 'servers': [" + list + "]}}}";
        return UpstreamRegistry.create(ConfigLoader.parse(json.replace('\'', '"'), null), clock).get("app");
    }

    private static RequestInfo cookie(String name, String value) {
        return new RequestInfo() {
            @Override
            public String cookie(String n) {
                return n.equals(name) ? value : null;
            }
        };
    }

    @Test
    void stickyValueIsOpaqueStableAndDistinct() {
        String a0 = Sticky.valueOf("app", 0);
        assertEquals("7b3eb0fc2d12f224", a0, "SHA-256 of \"app\\n0\": the same on every instance, release and restart");
        assertNotEquals(a0, Sticky.valueOf("app", 1));
        assertNotEquals(a0, Sticky.valueOf("web", 0));
        Server s = upstream("{'cookie': 'srv_id'}", 1).server(0);
        assertEquals(a0, s.stickyValue());
        assertFalse(s.stickyValue().contains("127"), "never the address");
    }

    @Test
    void boundRequestGoesToItsServerEvenWhileItDrains() {
        Upstream u = upstream("{'cookie': 'srv_id'}", 3);
        Server two = u.server(2);
        RequestInfo bound = cookie("srv_id", two.stickyValue());
        for (int i = 0; i < 10; i++) {
            assertSame(two, u.pick(bound, s -> false));
        }
        two.update(two.config().withDrain(true));
        assertSame(two, u.pick(bound, s -> false), "a drain keeps its bound clients");
        for (int i = 0; i < 10; i++) {
            assertNotSame(two, u.pick(RequestInfo.NONE, s -> false), "and takes no new ones");
        }
    }

    @Test
    void boundRequestMovesWhenItsServerIsDownFailedFullTriedOrRemoved() {
        Upstream u = upstream("{'cookie': 'srv_id'}", 2);
        Server one = u.server(1);
        RequestInfo bound = cookie("srv_id", one.stickyValue());
        one.update(one.config().withDown(true));
        assertSame(u.server(0), u.pick(bound, s -> false), "down");
        one.update(one.config().withDown(false));
        one.setHealth(HealthStatus.UNHEALTHY);
        assertSame(u.server(0), u.pick(bound, s -> false), "unhealthy");
        one.setHealth(HealthStatus.UP);
        Lease held = one.tryLease();
        assertSame(u.server(0), u.pick(bound, s -> false), "at its max_conns");
        held.abandoned();
        assertSame(u.server(0), u.pick(bound, s -> s == one), "already tried (a retry)");
        assertSame(one, u.pick(bound, s -> false));
        u.remove(1);
        assertSame(u.server(0), u.pick(bound, s -> false), "removed");
        assertSame(u.server(0), u.pick(cookie("srv_id", "forged"), s -> false), "unknown value: a balancer pick");
    }

    @Test
    void cookieIsSetOnlyWhenAbsentOrChangedWithItsAttributes() {
        Upstream u = upstream("{'cookie': 'srv_id', 'expires': '1h', 'domain': 'example.com', 'secure': true, 'samesite': 'Lax'}", 2);
        Server zero = u.server(0);
        assertEquals("srv_id=" + zero.stickyValue() + "; Path=/; Max-Age=3600; Domain=example.com; Secure; HttpOnly; SameSite=Lax",
                u.sticky().cookieFor(zero, RequestInfo.NONE));
        assertNull(u.sticky().cookieFor(zero, cookie("srv_id", zero.stickyValue())));
        assertTrue(u.sticky().cookieFor(zero, cookie("srv_id", u.server(1).stickyValue())).startsWith("srv_id=" + zero.stickyValue() + ";"));
    }

    @Test
    void learnModeBindsTheSessionToTheServerThatSetIt() {
        Upstream u = upstream("{'learn': 'JSESSIONID', 'timeout': '10m'}", 3);
        Server one = u.server(1);
        u.sticky().learn(one, List.of("other=1", "JSESSIONID=abc123; Path=/; HttpOnly"));
        RequestInfo session = cookie("JSESSIONID", "abc123");
        for (int i = 0; i < 10; i++) {
            assertSame(one, u.pick(session, s -> false));
        }
        clock.advance(Duration.ofMinutes(11));
        u.pick(session, s -> false);
        assertEquals(0, u.sticky().learnedSize(), "unused for longer than its timeout: forgotten");
    }

    /** Upstream "app" of two servers with {@code settings} (each followed by a comma), reloaded by {@link #reload}. */
    private static String twoServers(String settings) {
        return ("{'upstreams': {'app': {" + settings + "'servers': [{'server': '127.0.0.1:1'}, {'server': '127.0.0.1:2'}]}}}").replace('\'', '"');
    }

    private final UpstreamRegistry registry = UpstreamRegistry.empty(clock);
    private ChangeApplier changes;

    private Upstream restore(String settings) {
        changes = ChangeApplier.restore(registry, ConfigLoader.parse(twoServers(settings), null), new io.upstreamproxy.state.MemoryStateStore());
        return registry.get("app");
    }

    private void reload(String settings) {
        changes.reload(ConfigLoader.parse(twoServers(settings), null));
    }

    @Test
    void learnTableKeepsAcrossAReloadThatKeepsItsSettings() {
        Upstream u = restore("'sticky': {'learn': 'sid'}, ");
        u.sticky().learn(u.server(1), List.of("sid=s1"));
        reload("'sticky': {'learn': 'sid'}, 'retries': 1, ");
        assertSame(u.server(1), u.pick(cookie("sid", "s1"), s -> false));
    }

    @Test
    void aReloadTurnsStickySessionsOnAndOff() {
        Upstream u = restore("");
        RequestInfo bound = cookie("srv_id", u.server(1).stickyValue());
        assertSame(u.server(0), u.pick(bound, s -> false), "no sticky yet: round-robin starts at 0");
        reload("'sticky': {'cookie': 'srv_id'}, ");
        for (int i = 0; i < 4; i++) {
            assertSame(u.server(1), u.pick(bound, s -> false));
        }
        reload("");
        assertNull(u.sticky());
        assertEquals(2, java.util.stream.IntStream.range(0, 4).mapToObj(i -> u.pick(bound, s -> false)).distinct().count());
    }

    @Test
    void addedServerCanBeBoundTo() {
        Upstream u = upstream("{'cookie': 'srv_id'}", 1);
        Server added = u.addWithId(7, ServerConfig.of(new HostPort("127.0.0.1", 9)));
        assertSame(added, u.pick(cookie("srv_id", Sticky.valueOf("app", 7)), s -> false));
    }
}
